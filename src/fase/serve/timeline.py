"""The service's time axis: the run's bins, extended past its end by the same DST-safe rule.

Bin 0 is the run's first bin and bins 0..T−1 are exactly the run's (``data/tensors.npz``
``bin_start``); the bins that follow are those :func:`fase.data.bins.make_grid` would
have produced had the calendar gone on, so a live incident falls into the bin it would
have had in a longer run. The axis stops ``lead`` after the run's last bin (plus the
forecast period), which bounds memory (N × bins counts) and catches mistyped years.

Incident times are absolute instants: an ISO 8601 time with an offset is converted, a
naive one is local wall time in the dataset's zone, read with the incident readers'
rule (:mod:`fase.data.incidents`): a time in the fall-back hour is its first
(daylight-time) occurrence, one in the spring-forward gap is shifted to the end of the gap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fase.data.bins import DAY, BinGrid, make_grid
from fase.errors import FaseInputError

DEFAULT_LEAD = pd.Timedelta(days=366)  # how far past the run's data incidents may lie


@dataclass(frozen=True)
class LiveTimeline:
    """The run's T bins followed by the bins after them.

    Attributes:
        grid: (T_live + 1,) edges from the run's first bin start, ns since the epoch (UTC).
        run_bins: T, the run's own bins (``grid`` bins 0..T−1).
    """

    grid: BinGrid
    run_bins: int

    @classmethod
    def extend(
        cls,
        bin_start: np.ndarray,
        width: pd.Timedelta,
        timezone: str,
        lead: pd.Timedelta = DEFAULT_LEAD,
    ) -> LiveTimeline:
        """The run's bins (``bin_start`` (T,) int64 ns, UTC) followed by ``lead`` more time.

        Raises:
            FaseInputError: the run's bins are not the DST-safe grid of ``width``.
        """
        bin_start = np.asarray(bin_start, dtype=np.int64)
        first = pd.Timestamp(int(bin_start[0]), unit="ns", tz="UTC").tz_convert(timezone)
        last = pd.Timestamp(int(bin_start[-1]), unit="ns", tz="UTC").tz_convert(timezone)
        end = (last + width + lead).date() + dt.timedelta(days=1)
        full = make_grid(first.date(), end, width, timezone)
        offset = int(np.searchsorted(full.edges, bin_start[0]))
        own = full.edges[offset : offset + bin_start.size]
        if own.size != bin_start.size or not np.array_equal(own, bin_start):
            raise FaseInputError(
                "data/tensors.npz",
                f"the run's bin starts are not the {width} bins of {timezone}",
                "rebuild the run's data with `fase data`",
            )
        return cls(BinGrid(full.edges[offset:].copy(), width, timezone), int(bin_start.size))

    @property
    def n_bins(self) -> int:
        """T_live, bins on the extended axis."""
        return self.grid.n_bins

    @property
    def starts(self) -> pd.DatetimeIndex:
        """(T_live,) local tz-aware bin starts."""
        return self.grid.starts

    @property
    def bin_label(self) -> str:
        """``1h`` … ``1D``, as in ``meta.json``."""
        return "1D" if self.grid.width == DAY else f"{int(self.grid.width / pd.Timedelta('1h'))}h"

    def to_utc_ns(self, times: Sequence[dt.datetime]) -> np.ndarray:
        """(P,) int64 ns since the epoch of each time (module docstring for naive times)."""
        utc = np.empty(len(times), dtype=np.int64)
        naive = np.array([t.tzinfo is None for t in times], dtype=bool)
        if naive.any():
            wall = pd.DatetimeIndex([t for t, n in zip(times, naive, strict=True) if n])
            local = wall.tz_localize(
                self.grid.timezone,
                ambiguous=np.ones(len(wall), dtype=bool),
                nonexistent="shift_forward",
            )
            utc[naive] = local.tz_convert("UTC").as_unit("ns").asi8
        if (~naive).any():
            aware = [t for t, n in zip(times, naive, strict=True) if not n]
            utc[~naive] = pd.to_datetime(aware, utc=True).as_unit("ns").asi8
        return utc

    def assign(self, utc_ns: np.ndarray) -> np.ndarray:
        """(P,) bin of each instant on the extended axis; −1 outside it."""
        return self.grid.assign(pd.DatetimeIndex(np.asarray(utc_ns, "datetime64[ns]"), tz="UTC"))

    def iso(self, edges: np.ndarray | range | list[int]) -> list[str]:
        """Local ISO 8601 time (with its UTC offset) of each edge index: edge t is the start
        of bin t, edge T_live the end of the last bin."""
        times = pd.DatetimeIndex(self.grid.edges[np.asarray(edges)].astype("datetime64[ns]"))
        return [t.isoformat() for t in times.tz_localize("UTC").tz_convert(self.grid.timezone)]
