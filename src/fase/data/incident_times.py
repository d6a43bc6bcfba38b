"""Incident times: source values to UTC instants, with DST handling and adjustment flags.

Each strptime format is tried in turn on the rows still unparsed. A format with ``%z``
(``+00``, ``+05:30``, ``Z``) gives an absolute instant, converted to the zone; so does
every value when ``input_utc`` is set (both counted ``utc_converted``). A typed timestamp
column (Parquet) needs no format: a naive one is wall-clock time, a zone-aware one an
instant. Any other value is local wall-clock time in the zone: a time in the fall-back
hour is read as its first (daylight-time) occurrence (``dst_ambiguous``), one in the
spring-forward gap is shifted forward to the end of the gap (``dst_nonexistent``).
Sources at day precision (a ``date`` column without ``time``, or ``time_precision: day``)
are placed at local midnight. With a ``date`` and a ``time`` column, the date's own time
part is ignored and the time of day comes from ``time``: HHMM with leading zeros possibly
dropped (``5`` = 00:05, ``1230`` = 12:30) or ``H:MM[:SS]``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from fase.data.incident_formats import ReadSettings

_NS_MIN, _NS_MAX = np.datetime64("1678-01-01", "D"), np.datetime64("2261-12-31", "D")
_NAT = np.datetime64("NaT", "ns")


def local_midnight(day: dt.date, zone: str) -> np.datetime64:
    """The UTC instant (datetime64[ns], naive) of local midnight starting ``day`` in ``zone``."""
    stamp = pd.Timestamp(day).tz_localize(zone, ambiguous=True, nonexistent="shift_forward")
    return stamp.tz_convert("UTC").tz_localize(None).to_datetime64().astype("datetime64[ns]")


def parse_times(
    col: dict[str, pd.Series], settings: ReadSettings, zone: str
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """UTC instants (R,) datetime64[ns] (NaT where unusable) and per-row adjustment flags
    (``dst_ambiguous``, ``dst_nonexistent``, ``utc_converted``: (R,) bool each)."""
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
    """Try each format on the rows still unparsed (typed timestamps are taken as they are).

    Returns ``(wall, utc)``, both datetime64[ns] of len(text): naive wall-clock values
    and instants (as naive UTC) from ``%z`` formats or zone-aware timestamps; NaT elsewhere.
    """
    wall = np.full(len(text), _NAT)
    utc = np.full(len(text), _NAT)
    if pd.api.types.is_datetime64_any_dtype(text.dtype):
        aware = isinstance(text.dtype, pd.DatetimeTZDtype)
        values = (text.dt.tz_convert("UTC").dt.tz_localize(None) if aware else text).to_numpy()
        inside = (values >= _NS_MIN) & (values <= _NS_MAX)  # representable in ns; NaT is False
        (utc if aware else wall)[inside] = values[inside].astype("datetime64[ns]")
        return wall, utc
    todo = text.notna().to_numpy(copy=True)
    for fmt in formats:
        rows = np.flatnonzero(todo)
        if rows.size == 0:
            break
        subset = text if rows.size == len(text) else text.iloc[rows]
        aware = "%z" in fmt
        parsed = pd.to_datetime(subset, format=fmt, errors="coerce", utc=aware)
        values = (parsed.dt.tz_localize(None) if aware else parsed).to_numpy()
        inside = (values >= _NS_MIN) & (values <= _NS_MAX)
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
