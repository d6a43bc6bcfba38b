"""DST-safe time bins.

A bin is an interval of absolute time. Bin edges are the local wall-clock times at
multiples of the bin width from each local midnight, localised in the dataset's
zone; wall times that do not exist (spring-forward gap) are skipped and wall times
that occur twice (fall-back) give two edges. Hence:

* 1-hour bins are absolute hours: a spring-forward day has 23 bins, a fall-back day 25;
* 8-hour bins start at local 00:00, 08:00 and 16:00 (one is 7 or 9 h long on DST days);
* 1-day bins are local calendar days (23, 24 or 25 hours long).

Bin widths must divide a day (1h, 2h, 3h, 4h, 6h, 8h, 12h, 1D).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fase.errors import FaseInputError

DAY = pd.Timedelta("1D")


@dataclass(frozen=True)
class BinGrid:
    """Consecutive bins covering ``[start, end)`` local dates.

    Attributes:
        edges: (T+1,) int64 nanoseconds since the Unix epoch (UTC) of the bin edges.
        width: nominal bin width.
        timezone: IANA zone of the local wall clock.
    """

    edges: np.ndarray
    width: pd.Timedelta
    timezone: str

    @property
    def n_bins(self) -> int:
        return len(self.edges) - 1

    @property
    def starts(self) -> pd.DatetimeIndex:
        """(T,) bin starts as local, tz-aware timestamps."""
        return (
            pd.DatetimeIndex(self.edges[:-1].astype("datetime64[ns]"))
            .tz_localize("UTC")
            .tz_convert(self.timezone)
        )

    def assign(self, times: pd.Series | pd.DatetimeIndex) -> np.ndarray:
        """Bin index (T,) int64 of each tz-aware timestamp; −1 for times outside the grid."""
        ns = pd.DatetimeIndex(times).tz_convert("UTC").as_unit("ns").asi8
        index = np.searchsorted(self.edges, ns, side="right") - 1
        index[(ns < self.edges[0]) | (ns >= self.edges[-1])] = -1
        return index.astype(np.int64)

    def slice(self, first: int, last: int) -> BinGrid:
        """The sub-grid of bins ``first .. last`` inclusive."""
        return BinGrid(self.edges[first : last + 2].copy(), self.width, self.timezone)


def make_grid(start: dt.date, end: dt.date, width: pd.Timedelta, timezone: str) -> BinGrid:
    """Bins of ``width`` from local midnight of ``start`` to that of ``end`` (exclusive)."""
    if width > DAY or (DAY % width) != pd.Timedelta(0):
        raise FaseInputError(
            "data.bin",
            f"bin width {width} does not divide a day",
            "use 1h, 2h, 3h, 4h, 6h, 8h, 12h or 1D",
        )
    wall = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq=width, inclusive="both")
    first = wall.tz_localize(timezone, ambiguous=np.ones(len(wall), dtype=bool), nonexistent="NaT")
    second = wall.tz_localize(
        timezone, ambiguous=np.zeros(len(wall), dtype=bool), nonexistent="NaT"
    )
    instants = first.append(second).dropna().tz_convert("UTC").as_unit("ns").asi8
    return BinGrid(np.unique(instants), width, timezone)
