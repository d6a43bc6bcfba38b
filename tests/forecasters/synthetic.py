"""In-memory synthetic cities for the model zoo, with planted structure.

``spillover_city``: N areas on a ring, each neighbour of the next. Counts follow a
Poisson process with a weekly profile plus a planted *spill-over*: an incident in
area u at bin t raises area u + 1 (mod N) at bin t + 1 by ``spill`` expected
incidents, and nothing else does. A model that ignores the graph can only use an
area's own past, which carries no information about its neighbour's last bin; a graph
model that reads the neighbour's lag-1 count can learn the rate exactly.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from fase.data.features import FeatureSpec, build_features
from fase.forecasters.base import Forecaster
from fase.forecasters.data import ForecastData
from fase.graph import Graph
from fase.graph.combine import row_normalize
from fase.graph.stats import graph_stats


def ring_graph(n: int) -> Graph:
    """A ring of ``n`` areas: A_geo links u and u ± 1; A_combined = row-normalised A_geo + I."""
    a_geo = np.zeros((n, n))
    for u in range(n):
        a_geo[u, (u + 1) % n] = a_geo[(u + 1) % n, u] = 1.0
    a_combined = row_normalize(a_geo + np.eye(n))
    zeros = np.zeros((n, n))
    return Graph(
        node_ids=[str(u + 1) for u in range(n)],
        A_geo=a_geo,
        A_geo_norm=row_normalize(a_geo),
        A_feat=zeros,
        A_feat_thresh=zeros,
        A_combined=a_combined,
        stats=graph_stats(a_geo, zeros, a_combined, 0),
        islands=np.zeros(0, np.int64),
    )


def spillover_counts(
    n: int, steps: int, base: float, spill: float, rng: np.random.Generator
) -> np.ndarray:
    """(N, T) int64 counts: y[v, t] ~ Poisson(base·season(t) + spill·y[v − 1, t − 1])."""
    hours = np.arange(steps) % 24
    season = 1.0 + 0.5 * np.sin(2 * np.pi * hours / 24)
    y = np.zeros((n, steps), np.int64)
    y[:, 0] = rng.poisson(base, n)
    for t in range(1, steps):
        rate = base * season[t] + spill * np.roll(y[:, t - 1], 1)
        y[:, t] = rng.poisson(rate)
    return y


def spillover_city(
    n: int = 6,
    steps: int = 2016,
    base: float = 0.3,
    spill: float = 0.8,
    seed: int = 0,
    minority: tuple[int, ...] = (0, 1, 2),
) -> ForecastData:
    """A :class:`ForecastData` of ``spillover_counts`` with hourly bins from 2021-01-04
    (a Monday, UTC), the 13 standard features, a 70/15/15 split and the ring graph.
    Areas in ``minority`` are the minority group; every area has 1 km²."""
    rng = np.random.default_rng(seed)
    y = spillover_counts(n, steps, base, spill, rng)
    starts = pd.date_range("2021-01-04", periods=steps, freq="h", tz="UTC")
    static = np.column_stack(
        [np.isin(np.arange(n), minority).astype(float), np.linspace(0.2, 0.8, n), np.full(n, 0.2)]
    )
    x = build_features(y, starts, static, FeatureSpec())
    train_end, val_end = int(0.70 * steps), int(0.85 * steps)
    mean = x[:, :train_end].reshape(-1, x.shape[2]).mean(axis=0)
    std = x[:, :train_end].reshape(-1, x.shape[2]).std(axis=0)
    scaled = ((x - mean) / np.where(std > 0, std, 1.0)).astype(np.float32)
    return ForecastData(
        x=scaled,
        x_raw=x,
        y=y,
        y_types=None,
        type_names=[],
        split={"train": (0, train_end), "val": (train_end, val_end), "test": (val_end, steps)},
        bin_start=starts.as_unit("ns").asi8.astype(np.int64),
        bin_width="1h",
        bins_per_day=24,
        feature_names=list(FeatureSpec().names),
        graph=ring_graph(n),
        groups=np.where(np.isin(np.arange(n), minority), "minority", "majority"),
        area_km2=np.ones(n),
        local_hour_of_week=(starts.day_of_week * 24 + starts.hour).to_numpy(np.int64),
    )


def make_data(
    y: np.ndarray,
    split: dict[str, tuple[int, int]],
    bins_per_day: int = 1,
    x: np.ndarray | None = None,
) -> ForecastData:
    """ForecastData of counts y (N, T) from Monday 2021-01-04 (UTC) on a ring graph;
    features ``x`` (N, T, F) or one all-zero feature."""
    n, steps = y.shape
    starts = pd.date_range("2021-01-04", periods=steps, freq=f"{24 // bins_per_day}h", tz="UTC")
    x = np.zeros((n, steps, 1), np.float32) if x is None else x.astype(np.float32)
    return ForecastData(
        x=x,
        x_raw=x,
        y=y.astype(np.int64),
        y_types=None,
        type_names=[],
        split=split,
        bin_start=starts.as_unit("ns").asi8.astype(np.int64),
        bin_width=f"{24 // bins_per_day}h",
        bins_per_day=bins_per_day,
        feature_names=[f"f{k}" for k in range(x.shape[2])],
        graph=ring_graph(n),
        groups=np.full(n, "unknown"),
        area_km2=np.ones(n),
        local_hour_of_week=(starts.day_of_week * 24 + starts.hour).to_numpy(np.int64),
    )


def bumped_forecasts(model: Forecaster, bump_at: int = 5) -> tuple[np.ndarray, np.ndarray, int]:
    """``model`` fitted on a 1,200-bin spill-over city; its test forecast E[Y] (T, N)
    before and after adding 7 incidents to every area at test bin ``bump_at``. Returns
    (before, after, bump_at): a one-step-ahead model leaves rows ≤ bump_at unchanged."""
    data = spillover_city(steps=1200)
    model.fit(data, seed=0)
    start, end = data.bounds("test")
    changed = data.y.copy()
    changed[:, start + bump_at] += 7
    before = model.predict(data, start, end).mean.numpy()
    after = model.predict(dataclasses.replace(data, y=changed), start, end).mean.numpy()
    return before, after, bump_at
