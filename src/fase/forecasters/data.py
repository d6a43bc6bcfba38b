"""What every forecaster sees: one city's tensors, split and graph.

All models of a run or a comparison read the same :class:`ForecastData`, so they train
on the same bins, are scored on the same bins and see the same features (standardised
with the training-split statistics). Arrays are node-major like :class:`fase.data.Tensors`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from fase.data.areas import land_area_km2
from fase.data.tensors import Tensors
from fase.errors import FaseInputError
from fase.graph import Graph
from fase.rundir import RunDir

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class ForecastData:
    """One city, ready for any forecaster.

    Attributes:
        x: (N, T, F) float32 features, standardised with the training statistics.
        x_raw: (N, T, F) float32 unscaled features (the study's own preprocessing
            starts from these).
        y: (N, T) int64 incident counts per area and bin.
        y_types: (N, T, K) int64 counts per crime category, or None.
        type_names: the K crime categories.
        split: ``{"train" | "val" | "test": (start, end)}`` bin ranges, contiguous.
        bin_start: (T,) int64 bin starts, ns since the Unix epoch (UTC).
        bin_width: the bin as a duration string (``"1h"``, ``"1D"``).
        bins_per_day: bins in a day (24 hourly, 1 daily).
        feature_names: the F feature names.
        graph: the hybrid graph (A_combined for message passing, A_geo for Hawkes masks).
        groups: (N,) ``"minority"``, ``"majority"`` or ``"unknown"`` per area.
        area_km2: (N,) land area per area (km²), for PAI.
        local_hour_of_week: (T,) int64 local hour-of-week 0–167 of each bin start
            (Monday 00:00 = 0); at daily bins the day of week × 24.
    """

    x: np.ndarray
    x_raw: np.ndarray
    y: np.ndarray
    y_types: np.ndarray | None
    type_names: list[str]
    split: dict[str, tuple[int, int]]
    bin_start: np.ndarray
    bin_width: str
    bins_per_day: int
    feature_names: list[str]
    graph: Graph
    groups: np.ndarray
    area_km2: np.ndarray
    local_hour_of_week: np.ndarray

    @property
    def num_nodes(self) -> int:
        return int(self.y.shape[0])

    @property
    def num_steps(self) -> int:
        return int(self.y.shape[1])

    @property
    def num_features(self) -> int:
        return int(self.x.shape[2])

    @property
    def bins_per_week(self) -> int:
        """The weekly season in bins (168 hourly, 7 daily)."""
        return 7 * self.bins_per_day

    def bounds(self, split: str) -> tuple[int, int]:
        """(start, end) bins of ``split``."""
        if split not in self.split:
            raise FaseInputError("split", f"unknown split {split!r}", f"use one of {SPLITS}")
        return self.split[split]

    def with_features(self, x: np.ndarray, names: list[str]) -> ForecastData:
        """The same city and counts with other model inputs ``x`` (N, T, F') float32."""
        if x.shape[:2] != self.y.shape or x.shape[2] != len(names):
            raise FaseInputError(
                "features", f"need (N, T, F') = {self.y.shape} × {len(names)}, got {x.shape}"
            )
        x = np.ascontiguousarray(x, dtype=np.float32)
        return replace(self, x=x, x_raw=x, feature_names=list(names))

    def crime_type(self, k: int) -> ForecastData:
        """The same city with crime type ``k``'s counts as the counts (no type channels)."""
        if self.y_types is None:
            raise FaseInputError("data", "has no crime-type channels")
        return replace(self, y=np.ascontiguousarray(self.y_types[:, :, k]), y_types=None)

    def season_index(self) -> np.ndarray:
        """(T,) int64 position of each bin in the weekly season, 0 … bins_per_week − 1."""
        hours_per_bin = 24 // self.bins_per_day
        return self.local_hour_of_week // hours_per_bin

    @classmethod
    def from_tensors(
        cls, tensors: Tensors, graph: Graph, area_km2: np.ndarray | None = None
    ) -> ForecastData:
        """Build from Phase 1–2 results (``area_km2`` None: every area counts 1 km²)."""
        n = tensors.y.shape[0]
        if graph.A_combined.shape != (n, n):
            raise FaseInputError("graph", f"has {graph.A_combined.shape[0]} nodes, the tensors {n}")
        starts = tensors.starts()
        hour_of_week = (starts.day_of_week * 24 + starts.hour).to_numpy(np.int64)
        y_types = None if tensors.y_types is None else tensors.y_types.astype(np.int64)
        return cls(
            x=tensors.scaled_x().astype(np.float32),
            x_raw=tensors.x.astype(np.float32),
            y=tensors.y.astype(np.int64),
            y_types=y_types,
            type_names=list(tensors.meta.get("crime_types", [])),
            split=tensors.split,
            bin_start=tensors.bin_start.astype(np.int64),
            bin_width=str(tensors.meta["bin"]),
            bins_per_day=int(tensors.meta["bin_bins_per_day"]),
            feature_names=list(tensors.meta["feature_names"]),
            graph=graph,
            groups=np.asarray(tensors.meta["groups"], dtype=str),
            area_km2=np.ones(n) if area_km2 is None else np.asarray(area_km2, np.float64),
            local_hour_of_week=hour_of_week,
        )

    @classmethod
    def from_run(
        cls,
        run: RunDir | str | Path,
        projected_crs: str | None = None,
        tensors: Tensors | None = None,
    ) -> ForecastData:
        """Load the data and graph of a run directory as written by Phases 1–2
        (``tensors``: the run's, when already loaded)."""
        run = run if isinstance(run, RunDir) else RunDir(run)
        run.require(run.tensors, run.meta, run.graph, hint="build the run with `fase data` first")
        tensors = Tensors.load(run) if tensors is None else tensors
        graph = Graph.load(run.graph)
        area = land_area_km2(run.areas, projected_crs) if run.areas.is_file() else None
        return cls.from_tensors(tensors, graph, area)
