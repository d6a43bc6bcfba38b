"""Incident readers: any supported CSV to the canonical incident table.

One generic reader, driven by the format defaults in :mod:`fase.data.incident_formats`,
reads only the needed columns (pandas C engine, ``CHUNK_ROWS`` rows at a time, so
memory stays bounded on 10 M-row files) and returns an :class:`IncidentTable` whose
``frame`` has the columns ``time`` (``datetime64[ns, <zone>]``), ``lat``, ``lon``
(float64 degrees, WGS84), ``crime_type`` (str, ``"UNKNOWN"`` where absent), then
``incident_id`` and the ``extra`` columns where mapped. Rows keep the file's order.

Time. Each strptime format is tried in turn on the rows still unparsed. A format
with ``%z`` (``+00``, ``+05:30``, ``Z``) gives an absolute instant, converted to the
zone; so does every value when ``input_utc`` is set (both counted ``utc_converted``).
Any other value is local wall-clock time in the zone: a time in the fall-back hour is
read as its first (daylight-time) occurrence (``dst_ambiguous``), one in the
spring-forward gap is shifted forward to the end of the gap (``dst_nonexistent``).
Sources at day precision (a ``date`` column without ``time``, or
``time_precision: day``) are placed at local midnight. With a ``date`` and a ``time``
column, the date's own time part is ignored and the time of day comes from ``time``:
HHMM with leading zeros possibly dropped (``5`` = 00:05, ``1230`` = 12:30) or ``H:MM[:SS]``.

Drops. Unusable rows are counted by reason, never dropped silently. Each row is
counted once, under the first reason in ``DROP_REASONS`` (that order) that applies.
Exact duplicates (all output columns equal) are counted among the kept rows; with
``duplicates="drop"`` all but the first of each group are dropped as ``duplicate``.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from fase.config.dataset import BBox, Calendar, IncidentSource
from fase.data.incident_formats import Layout, Precision, ReadSettings, column_layout, read_settings
from fase.errors import FaseInputError

CHUNK_ROWS = 1_000_000  # rows parsed at a time: bounds the memory held by raw text

DROP_REASONS: dict[str, str] = {  # reason -> meaning, in the order the reasons are applied
    "unparseable_datetime": "the date/time is empty, matches none of the formats, or is "
    "outside 1678-2261 (or the time of day is not HHMM / H:MM[:SS])",
    "missing_coordinates": "latitude or longitude is empty",
    "non_numeric_coordinates": "latitude or longitude is not a number",
    "zero_coordinates": "latitude or longitude is exactly 0 (a placeholder for unknown)",
    "swapped_coordinates": "latitude and longitude look exchanged: with a bbox, (lon, lat) "
    "falls in it and (lat, lon) does not; without one, |lat| > 90 and |lon| <= 90. "
    "Dropped, not repaired: if many, fix incidents.columns",
    "out_of_range_coordinates": "|lat| > 90 or |lon| > 180",
    "filtered:<column>": "the value of <column> is not in the dataset's incidents.keep_if list",
    "outside_bbox": "the point lies outside the dataset's bbox (edges inclusive)",
    "outside_calendar": "the local time is outside [calendar.start, calendar.end)",
    "duplicate": "an exact duplicate of an earlier kept row (duplicates: drop only)",
}
ADJUSTMENTS = ("dst_ambiguous", "dst_nonexistent", "utc_converted")
_NS_MIN, _NS_MAX = np.datetime64("1678-01-01", "D"), np.datetime64("2261-12-31", "D")
_NAT = np.datetime64("NaT", "ns")
_READ_ERRORS = (pd.errors.ParserError, UnicodeError, EOFError, OSError, zlib.error)


@dataclass(frozen=True)
class IncidentTable:
    """The canonical incident table and how it was obtained from the file.

    Attributes:
        frame: one row per kept incident (columns in the module docstring).
        source: the file read.
        rows_read: data rows in the file (= len(frame) + sum(dropped.values())).
        dropped: reason -> rows dropped (zeros omitted).
        adjusted: adjustment -> kept rows whose time was normalised (zeros omitted).
        duplicates: kept rows that exactly repeat an earlier one (before any dropping).
        duplicates_dropped: how many of those were dropped (0 unless duplicates="drop").
        time_precision: "hour" (time of day known) or "day" (dates only).
    """

    frame: pd.DataFrame
    source: Path
    rows_read: int
    dropped: dict[str, int]
    adjusted: dict[str, int]
    duplicates: int
    duplicates_dropped: int
    time_precision: Precision


def read_incidents(
    source: IncidentSource,
    timezone: str,
    calendar: Calendar,
    bbox: BBox | None,
    duplicates: Literal["keep", "drop"] = "keep",
) -> IncidentTable:
    """Read ``source`` into the canonical table (times in ``timezone``, rows in ``calendar``
    and ``bbox``). Raises :class:`FaseInputError` on a file that cannot be used at all."""
    path = Path(source.path)
    settings = read_settings(source, path)
    compression = _compression(path)
    layout = column_layout(path, settings, _first_line(path, settings, compression))
    parts: list[pd.DataFrame] = []
    dropped: Counter[str] = Counter()
    samples: list[str] = []
    rows_read = 0
    try:
        for chunk in _chunks(path, settings, layout, compression):
            rows_read += len(chunk)
            parts.append(
                _clean(chunk, settings, layout, timezone, calendar, bbox, dropped, samples)
            )
    except _READ_ERRORS as exc:
        raise FaseInputError(path, f"cannot be read as CSV: {exc}") from exc
    _check_any_rows(path, settings, layout, rows_read, dropped, samples)
    frame = pd.concat([part for part in parts if len(part)], ignore_index=True)
    columns = [c for c in frame.columns if c not in ADJUSTMENTS]
    repeats = frame.duplicated(subset=columns, keep="first").to_numpy()
    if duplicates == "drop" and repeats.any():
        dropped["duplicate"] += int(repeats.sum())
        frame = frame.loc[~repeats].reset_index(drop=True)
    adjusted = {name: int(frame[name].sum()) for name in ADJUSTMENTS}
    return IncidentTable(
        frame=frame[columns],
        source=path,
        rows_read=rows_read,
        dropped={reason: count for reason, count in dropped.items() if count},
        adjusted={name: count for name, count in adjusted.items() if count},
        duplicates=int(repeats.sum()),
        duplicates_dropped=int(repeats.sum()) if duplicates == "drop" else 0,
        time_precision=settings.time_precision,
    )


def _compression(path: Path) -> str:
    if not path.is_file():
        hint = (
            "set FASE_DATA_ROOT to the shared data folder"
            if "{data_root}" in str(path)
            else "check incidents.path in the dataset config"
        )
        raise FaseInputError(path, "incident file not found", hint)
    if path.stat().st_size == 0:
        raise FaseInputError(path, "the incident file is empty (0 bytes)")
    with open(path, "rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    if gzipped:
        return "gzip"
    if path.suffix == ".gz":
        raise FaseInputError(
            path,
            "the name ends in .gz but the file is not gzip-compressed",
            "re-compress it with gzip, or remove the .gz suffix if it is plain CSV",
        )
    return "infer"


def _read_options(settings: ReadSettings, compression: str) -> dict[str, object]:
    return {
        "sep": settings.delimiter,
        "compression": compression,
        "encoding": "utf-8-sig",  # strips a byte-order mark
        "encoding_errors": "replace",
        "index_col": False,
    }


def _first_line(path: Path, settings: ReadSettings, compression: str) -> list[str]:
    """The fields of the file's first line (header or data), as text."""
    try:
        first = pd.read_csv(
            path,
            header=None,
            nrows=1,
            dtype=str,
            keep_default_na=False,
            **_read_options(settings, compression),
        )
    except pd.errors.EmptyDataError as exc:
        raise FaseInputError(path, "the incident file is empty (no lines)") from exc
    except _READ_ERRORS as exc:
        raise FaseInputError(path, f"cannot be read as CSV: {exc}") from exc
    return [str(value).strip() for value in first.iloc[0]]


def _chunks(
    path: Path, settings: ReadSettings, layout: Layout, compression: str
) -> Iterator[pd.DataFrame]:
    """The wanted columns, ``CHUNK_ROWS`` rows at a time, labelled ``c<position>``."""
    numeric = {layout.labels["lat"], layout.labels["lon"]}  # left to the C parser's float inference
    used = sorted(set(layout.labels.values()), key=lambda label: int(label[1:]))
    return pd.read_csv(
        path,
        header=0 if layout.header else None,
        names=[f"c{i}" for i in range(layout.n_fields)],
        usecols=used,
        dtype={label: str for label in used if label not in numeric},
        chunksize=CHUNK_ROWS,
        low_memory=False,
        **_read_options(settings, compression),
    )


def _clean(
    chunk: pd.DataFrame,
    settings: ReadSettings,
    layout: Layout,
    zone: str,
    calendar: Calendar,
    bbox: BBox | None,
    dropped: Counter[str],
    samples: list[str],
) -> pd.DataFrame:
    """One chunk: parse, count drops into ``dropped`` (in DROP_REASONS order), keep the rest.

    Returns the kept rows in canonical form plus one boolean column per adjustment.
    """
    col = {key: chunk[label] for key, label in layout.labels.items()}
    time_utc, flags = _times(col, settings, zone)
    lat, lat_missing, lat_bad = _coordinate(col["lat"])
    lon, lon_missing, lon_bad = _coordinate(col["lon"])
    if bbox is None:
        swapped = (np.abs(lat) > 90) & (np.abs(lon) <= 90)
    else:
        swapped = _in_bbox(lon, lat, bbox) & ~_in_bbox(lat, lon, bbox)
    start, end = (_local_midnight(day, zone) for day in (calendar.start, calendar.end))
    masks = [  # in DROP_REASONS order; NaN/NaT compare False, caught by an earlier reason
        ("unparseable_datetime", np.isnat(time_utc)),
        ("missing_coordinates", lat_missing | lon_missing),
        ("non_numeric_coordinates", lat_bad | lon_bad),
        ("zero_coordinates", (lat == 0) | (lon == 0)),
        ("swapped_coordinates", swapped),
        ("out_of_range_coordinates", ~((np.abs(lat) <= 90) & (np.abs(lon) <= 180))),
    ]
    masks += [
        (f"filtered:{name}", ~col[f"keep_if:{name}"].isin(allowed).to_numpy())
        for name, allowed in settings.keep_if.items()
    ]
    if bbox is not None:
        masks.append(("outside_bbox", ~_in_bbox(lat, lon, bbox)))
    masks.append(("outside_calendar", ~((time_utc >= start) & (time_utc < end))))
    keep = np.ones(len(chunk), dtype=bool)
    for reason, mask in masks:
        dropped[reason] += int(np.count_nonzero(keep & mask))
        keep &= ~mask
    if len(samples) < 3:
        samples += _samples(col, np.flatnonzero(np.isnat(time_utc))[: 3 - len(samples)])
    frame = pd.DataFrame(
        {
            "time": pd.DatetimeIndex(time_utc[keep]).tz_localize("UTC").tz_convert(zone),
            "lat": lat[keep],
            "lon": lon[keep],
            "crime_type": _take(col["crime_type"], keep).fillna("UNKNOWN")
            if "crime_type" in col
            else "UNKNOWN",
        }
    )
    frame["crime_type"] = frame["crime_type"].astype(str)
    for key in layout.labels:
        if key == "incident_id" or key.startswith("extra:"):
            frame[key.removeprefix("extra:")] = _take(col[key], keep)
    for name in ADJUSTMENTS:
        frame[name] = flags[name][keep]
    return frame


def _take(column: pd.Series, keep: np.ndarray) -> pd.Series:
    return column[keep].reset_index(drop=True)


def _coordinate(column: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values in degrees, NaN where unusable; missing mask; non-numeric mask)."""
    missing = column.isna().to_numpy(copy=True)
    if pd.api.types.is_float_dtype(column.dtype) or pd.api.types.is_integer_dtype(column.dtype):
        return column.to_numpy(dtype=float), missing, np.zeros(len(column), dtype=bool)
    missing |= (column.astype(str).str.strip() == "").to_numpy()
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return values, missing, ~missing & np.isnan(values)


def _in_bbox(lat: np.ndarray, lon: np.ndarray, bbox: BBox) -> np.ndarray:
    """Inclusive on all four edges."""
    return (
        (lat >= bbox.lat_min)
        & (lat <= bbox.lat_max)
        & (lon >= bbox.lon_min)
        & (lon <= bbox.lon_max)
    )


def _local_midnight(day: dt.date, zone: str) -> np.datetime64:
    """The UTC instant of local midnight starting ``day`` in ``zone``."""
    stamp = pd.Timestamp(day).tz_localize(zone, ambiguous=True, nonexistent="shift_forward")
    return stamp.tz_convert("UTC").tz_localize(None).to_datetime64().astype("datetime64[ns]")


def _times(
    col: dict[str, pd.Series], settings: ReadSettings, zone: str
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """UTC instants (datetime64[ns], NaT where unusable) and per-row adjustment flags."""
    key = "datetime" if "datetime" in col else "date"
    wall, utc = _parse_datetimes(col[key], settings.datetime_formats)
    if settings.input_utc:
        utc = np.where(np.isnat(utc), wall, utc)
        wall = np.full_like(wall, _NAT)
    converted = ~np.isnat(utc)
    if key == "date" or settings.time_precision == "day":
        wall = np.where(converted, _utc_to_wall(utc, zone), wall)
        utc = np.full_like(utc, _NAT)
        wall = wall.astype("datetime64[D]").astype("datetime64[ns]")  # local midnight
        if "time" in col and settings.time_precision == "hour":
            offset = pd.to_timedelta(_seconds_of_day(col["time"]), unit="s").to_numpy()
            wall = wall + offset
    local, ambiguous, nonexistent = _localise(wall, zone)
    direct = ~np.isnat(utc)
    flags = {"dst_ambiguous": ambiguous, "dst_nonexistent": nonexistent, "utc_converted": converted}
    return np.where(direct, utc, local), flags


def _parse_datetimes(text: pd.Series, formats: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Try each format on the rows still unparsed.

    Returns ``(wall, utc)``, both datetime64[ns] of len(text): naive wall-clock values
    and instants (as naive UTC) from ``%z`` formats; NaT elsewhere.
    """
    wall = np.full(len(text), _NAT)
    utc = np.full(len(text), _NAT)
    todo = text.notna().to_numpy(copy=True)
    for fmt in formats:
        rows = np.flatnonzero(todo)
        if rows.size == 0:
            break
        subset = text if rows.size == len(text) else text.iloc[rows]
        aware = "%z" in fmt
        parsed = pd.to_datetime(subset, format=fmt, errors="coerce", utc=aware)
        values = (parsed.dt.tz_localize(None) if aware else parsed).to_numpy()
        inside = (values >= _NS_MIN) & (values <= _NS_MAX)  # representable in ns; NaT is False
        target = utc if aware else wall
        target[rows[inside]] = values[inside].astype("datetime64[ns]")
        todo[rows[inside]] = False
    return wall, utc


def _seconds_of_day(text: pd.Series) -> np.ndarray:
    """Seconds after midnight from HHMM (leading zeros optional) or H:MM[:SS]; NaN if invalid."""
    hhmm = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    hours, minutes = np.floor_divide(hhmm, 100), np.mod(hhmm, 100)
    valid = (hhmm == np.floor(hhmm)) & (hhmm >= 0) & (hours < 24) & (minutes < 60)
    seconds = np.where(valid, hours * 3600 + minutes * 60, np.nan)
    clock = np.flatnonzero(np.isnan(hhmm) & text.notna().to_numpy())
    if clock.size:
        parts = text.iloc[clock].str.extract(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")
        h, m, s = (parts[i].astype(float).to_numpy() for i in range(3))
        s = np.nan_to_num(s)
        seconds[clock] = np.where((h < 24) & (m < 60) & (s < 60), h * 3600 + m * 60 + s, np.nan)
    return seconds


def _utc_to_wall(utc: np.ndarray, zone: str) -> np.ndarray:
    return pd.DatetimeIndex(utc).tz_localize("UTC").tz_convert(zone).tz_localize(None).to_numpy()


def _localise(wall: np.ndarray, zone: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wall-clock times to UTC: fall-back-hour times as the first (DST) occurrence, gap
    times shifted forward. Returns (UTC datetime64[ns], ambiguous mask, nonexistent mask)."""
    index = pd.DatetimeIndex(wall)
    n, valid = len(index), ~np.isnat(wall)
    first = index.tz_localize(zone, ambiguous=np.ones(n, dtype=bool), nonexistent="shift_forward")
    second = index.tz_localize(zone, ambiguous=np.zeros(n, dtype=bool), nonexistent="shift_forward")
    ambiguous = valid & (first.asi8 != second.asi8)
    nonexistent = valid & (first.tz_localize(None).to_numpy() != wall)
    return first.tz_convert("UTC").tz_localize(None).to_numpy(), ambiguous, nonexistent


def _samples(col: dict[str, pd.Series], rows: np.ndarray) -> list[str]:
    """Raw date/time text of some unparseable rows, for the error message."""
    key = "datetime" if "datetime" in col else "date"
    out = []
    for row in rows:
        text = repr(col[key].iloc[row]) if pd.notna(col[key].iloc[row]) else "<empty>"
        if "time" in col:
            text += f" + time {col['time'].iloc[row]!r}"
        out.append(text)
    return out


def _check_any_rows(
    path: Path,
    settings: ReadSettings,
    layout: Layout,
    rows_read: int,
    dropped: Counter[str],
    samples: list[str],
) -> None:
    if rows_read == 0:
        raise FaseInputError(path, "the incident file has a header row but no data rows")
    if dropped["unparseable_datetime"] == rows_read:
        key = "datetime" if "datetime" in layout.names else "date"
        where = f"column {layout.names[key]!r}"
        if "time" in layout.names:
            where += f" with time column {layout.names['time']!r} (HHMM or H:MM)"
        raise FaseInputError(
            path,
            f"no row has a usable date/time in {where}; e.g. {', '.join(samples)}; "
            f"formats tried: {list(settings.datetime_formats)}",
            "set incidents.datetime_formats to strptime formats that match the file "
            "(e.g. '%d/%m/%Y %H:%M'), and incidents.input_utc: true if the times are UTC",
        )
    if sum(dropped.values()) == rows_read:
        counts = ", ".join(f"{reason}: {n}" for reason, n in dropped.items() if n)
        raise FaseInputError(
            path,
            f"all {rows_read} rows were dropped ({counts})",
            "check incidents.columns (lat/lon exchanged?), the dataset's bbox and calendar, "
            "and incidents.keep_if",
        )
