"""Incident readers: a CSV file or a Parquet dataset to the canonical incident table.

One generic reader, driven by the format defaults in :mod:`fase.data.incident_formats`,
reads only the needed columns, a batch of rows at a time (``CHUNK_ROWS`` unless told),
from a CSV file (:mod:`fase.data.incident_csv`) or a Parquet file, partitioned Parquet
directory or fsspec URL (:mod:`fase.data.parquet`), and cleans every batch with the same
code (:func:`clean_batch`). The canonical table has the columns ``time``
(``datetime64[ns, <zone>]``), ``lat``, ``lon`` (float64 degrees, WGS84), ``crime_type``
(str, ``"UNKNOWN"`` where absent), then ``incident_id`` and the ``extra`` columns where
mapped. Rows keep the source's order (Parquet: the order of its files).

:class:`IncidentStream` yields the cleaned batches and counts as it goes, so Phase 1
never holds all incidents (:mod:`fase.data.pipeline`); :func:`read_incidents` collects
them into one :class:`IncidentTable`. Which reader is used follows
``incidents.storage``: ``csv``, ``parquet``, or ``auto`` (Parquet for a directory, an
fsspec URL's directory, a ``.parquet``/``.parq``/``.pq`` name or a file starting with
the Parquet magic bytes; CSV otherwise). Times: :mod:`fase.data.incident_times`.

Drops. Unusable rows are counted by reason, never dropped silently. Each row is
counted once, under the first reason in ``DROP_REASONS`` (that order) that applies.
Exact duplicates (all output columns equal) are counted among the kept rows, across
batches (:mod:`fase.data.duplicates`); with ``duplicates="drop"`` all but the first of
each group are dropped as ``duplicate``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from fase.config.dataset import BBox, Calendar, IncidentSource
from fase.data.duplicates import DuplicateFilter
from fase.data.incident_csv import open_csv
from fase.data.incident_formats import Layout, Precision, ReadSettings, read_settings
from fase.data.incident_times import local_midnight, parse_times
from fase.data.parquet import is_url, looks_like_parquet, open_parquet
from fase.errors import FaseInputError

CHUNK_ROWS = 1_000_000  # rows per batch by default: bounds the memory held by raw rows

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
Storage = Literal["csv", "parquet"]


@dataclass(frozen=True)
class IncidentSummary:
    """How the incidents were obtained from the source (everything but the rows).

    Attributes:
        source: the file read (a Path), or the URL as given.
        storage: ``csv`` or ``parquet``.
        rows_read: data rows in the source (= loaded + sum(dropped.values())).
        loaded: rows kept.
        dropped: reason -> rows dropped (zeros omitted).
        adjusted: adjustment -> kept rows whose time was normalised (zeros omitted).
        duplicates: kept rows that exactly repeat an earlier one (before any dropping).
        duplicates_dropped: how many of those were dropped (0 unless duplicates="drop").
        time_precision: "hour" (time of day known) or "day" (dates only).
    """

    source: Path | str
    storage: Storage
    rows_read: int
    loaded: int
    dropped: dict[str, int]
    adjusted: dict[str, int]
    duplicates: int
    duplicates_dropped: int
    time_precision: Precision


@dataclass(frozen=True)
class IncidentTable(IncidentSummary):
    """The canonical incident table (``frame``: one row per kept incident, columns in the
    module docstring) and its :class:`IncidentSummary`."""

    frame: pd.DataFrame


class IncidentStream:
    """The cleaned incidents of ``source``, one batch (a canonical frame) at a time.

    Opening checks the source and its columns (raising :class:`FaseInputError` at once);
    iterating reads, cleans and de-duplicates each batch of at most ``batch_rows`` source
    rows (``batch_rows``, else ``source.batch_rows``, else ``CHUNK_ROWS``), skipping
    batches left empty. Iterate once, then call :meth:`summary`.
    Memory: one batch, plus 16 bytes per distinct kept incident for duplicate detection.
    """

    def __init__(
        self,
        source: IncidentSource,
        timezone: str,
        calendar: Calendar,
        bbox: BBox | None,
        duplicates: Literal["keep", "drop"] = "keep",
        batch_rows: int | None = None,
    ) -> None:
        self.source: Path | str = source.path if is_url(source.path) else Path(source.path)
        self.storage: Storage = _storage(source)
        self.settings = read_settings(source, self.source, self.storage == "csv")
        self._cleaning = (timezone, calendar, bbox)
        self._policy = duplicates
        rows = batch_rows or source.batch_rows or CHUNK_ROWS
        if self.storage == "parquet":
            opened = open_parquet(source.path, self.settings, rows, source.storage_options)
        else:
            opened = open_csv(_local_csv(self.source), self.settings, rows)
        self.layout, self._raw = opened
        self._filter = DuplicateFilter()
        self._dropped: Counter[str] = Counter()
        self._adjusted: Counter[str] = Counter()
        self._samples: list[str] = []
        self._rows_read = self._loaded = self._repeats = 0
        self._finished = False

    @property
    def time_precision(self) -> Precision:
        """``hour`` or ``day``, known before reading (from the format and the config)."""
        return self.settings.time_precision

    def __iter__(self) -> Iterator[pd.DataFrame]:
        for raw in self._raw:
            self._rows_read += len(raw)
            frame = clean_batch(
                raw, self.settings, self.layout, *self._cleaning, self._dropped, self._samples
            )
            columns = [c for c in frame.columns if c not in ADJUSTMENTS]
            repeats = self._filter.repeats(frame[columns])
            self._repeats += int(repeats.sum())
            if self._policy == "drop" and repeats.any():
                self._dropped["duplicate"] += int(repeats.sum())
                frame = frame.loc[~repeats].reset_index(drop=True)
            for name in ADJUSTMENTS:
                self._adjusted[name] += int(frame[name].sum())
            self._loaded += len(frame)
            if len(frame):
                yield frame[columns]
        self._finished = True

    def summary(self) -> IncidentSummary:
        """The counts, once the stream is exhausted. Raises :class:`FaseInputError` when
        the source has no rows, no usable date/time or no usable row at all."""
        if not self._finished:
            raise RuntimeError("IncidentStream.summary() called before the stream was read")
        _check_any_rows(self, self._rows_read, self._dropped, self._samples)
        return IncidentSummary(
            source=self.source,
            storage=self.storage,
            rows_read=self._rows_read,
            loaded=self._loaded,
            dropped={reason: count for reason, count in self._dropped.items() if count},
            adjusted={name: count for name, count in self._adjusted.items() if count},
            duplicates=self._repeats,
            duplicates_dropped=self._repeats if self._policy == "drop" else 0,
            time_precision=self.time_precision,
        )


def read_incidents(
    source: IncidentSource,
    timezone: str,
    calendar: Calendar,
    bbox: BBox | None,
    duplicates: Literal["keep", "drop"] = "keep",
    batch_rows: int | None = None,
) -> IncidentTable:
    """Read ``source`` into the canonical table (times in ``timezone``, rows in ``calendar``
    and ``bbox``). Holds every kept incident: for counts only, iterate an
    :class:`IncidentStream`. Raises :class:`FaseInputError` on a source that cannot be used."""
    stream = IncidentStream(source, timezone, calendar, bbox, duplicates, batch_rows)
    parts = list(stream)
    summary = stream.summary()
    frame = pd.concat(parts, ignore_index=True)
    return IncidentTable(**{f.name: getattr(summary, f.name) for f in fields(summary)}, frame=frame)


def _storage(source: IncidentSource) -> Storage:
    if source.storage != "auto":
        return source.storage
    return "parquet" if looks_like_parquet(source.path, source.storage_options) else "csv"


def _local_csv(location: Path | str) -> Path:
    if isinstance(location, str):
        raise FaseInputError(
            location,
            "CSV incidents are read from local files only; URLs are for Parquet datasets",
            "copy the CSV locally, or convert it to Parquet (incidents.storage: parquet)",
        )
    return location


def clean_batch(
    chunk: pd.DataFrame,
    settings: ReadSettings,
    layout: Layout,
    zone: str,
    calendar: Calendar,
    bbox: BBox | None,
    dropped: Counter[str],
    samples: list[str],
) -> pd.DataFrame:
    """One batch: parse, count drops into ``dropped`` (in DROP_REASONS order), keep the rest.

    Returns the kept rows in canonical form plus one boolean column per adjustment.
    """
    col = {key: chunk[label] for key, label in layout.labels.items()}
    time_utc, flags = parse_times(col, settings, zone)
    lat, lat_missing, lat_bad = _coordinate(col["lat"])
    lon, lon_missing, lon_bad = _coordinate(col["lon"])
    if bbox is None:
        swapped = (np.abs(lat) > 90) & (np.abs(lon) <= 90)
    else:
        swapped = _in_bbox(lon, lat, bbox) & ~_in_bbox(lat, lon, bbox)
    start, end = (local_midnight(day, zone) for day in (calendar.start, calendar.end))
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
    stream: IncidentStream, rows_read: int, dropped: Counter[str], samples: list[str]
) -> None:
    path, layout = stream.source, stream.layout
    if rows_read == 0:
        problem = (
            "the incident dataset has no rows"
            if stream.storage == "parquet"
            else "the incident file has a header row but no data rows"
        )
        raise FaseInputError(path, problem)
    if dropped["unparseable_datetime"] == rows_read:
        key = "datetime" if "datetime" in layout.names else "date"
        where = f"column {layout.names[key]!r}"
        if "time" in layout.names:
            where += f" with time column {layout.names['time']!r} (HHMM or H:MM)"
        raise FaseInputError(
            path,
            f"no row has a usable date/time in {where}; e.g. {', '.join(samples)}; "
            f"formats tried: {list(stream.settings.datetime_formats)}",
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
