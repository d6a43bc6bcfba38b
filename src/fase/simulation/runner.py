"""Run K cycles (× R replicates) and collect the per-cycle metrics.

Replicate r uses its own detection generator and its own forecaster (a fresh copy of
the trained weights), both seeded from ``numpy.random.SeedSequence(seed).spawn(R)[r]``,
so every replicate is reproducible on its own. With expected-value detection there is
one replicate and no randomness in the environment.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fase.allocation.policies import Policy
from fase.forecasters.base import Forecaster
from fase.simulation.deployment import CycleOutcome
from fase.simulation.metrics import PAPER_COLUMNS, PER_AREA_ARRAYS, cycle_metrics, paper_row
from fase.simulation.metrics import per_area as per_area_metrics
from fase.simulation.params import Params, World
from fase.simulation.state import initial_state
from fase.simulation.step import step

ForecasterFactory = Callable[[int], Forecaster]
"""Maps a replicate's integer seed to a fresh forecaster holding the trained weights."""
CycleCallback = Callable[[int, int, dict[str, float]], None]
"""Called as ``(replicate, cycle, history_row)`` after every cycle."""


@dataclass(frozen=True)
class ReplicateResult:
    """One replicate: a history row and a reference row per cycle, per-area arrays (K, N)."""

    rows: list[dict[str, float]]
    paper_rows: list[dict[str, float]]
    per_area: dict[str, np.ndarray]
    outcomes: list[CycleOutcome]


@dataclass(frozen=True)
class SimulationResult:
    """Every replicate, the aggregated history (one row per cycle) and the wall time (s)."""

    params: Params
    replicates: list[ReplicateResult]
    history: pd.DataFrame
    paper_history: pd.DataFrame
    seconds: float

    @property
    def per_area(self) -> dict[str, np.ndarray]:
        """(K, N) arrays averaged over replicates (NaN-aware)."""
        return {
            name: _nanmean_stack([r.per_area[name] for r in self.replicates])
            for name in PER_AREA_ARRAYS
        }


def _nanmean_stack(arrays: list[np.ndarray]) -> np.ndarray:
    stack = np.stack(arrays)
    count = (~np.isnan(stack)).sum(axis=0)
    total = np.nansum(stack, axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def replicate_seeds(seed: int, replicates: int) -> list[int]:
    """One independent 32-bit seed per replicate, from ``SeedSequence(seed).spawn``."""
    return [int(c.generate_state(1)[0]) for c in np.random.SeedSequence(seed).spawn(replicates)]


def run_replicate(
    params: Params,
    world: World,
    forecaster: Forecaster,
    policy: Policy,
    rng: np.random.Generator,
    on_cycle: Callable[[int, dict[str, float]], None] | None = None,
    keep_outcomes: bool = False,
) -> ReplicateResult:
    """All ``params.cycles`` cycles of one replicate, from :func:`initial_state`."""
    state = initial_state(params, world, rng)
    rows, paper_rows, outcomes = [], [], []
    areas: dict[str, list[np.ndarray]] = {name: [] for name in PER_AREA_ARRAYS}
    for _ in range(params.cycles):
        state, outcome = step(params, world, state, forecaster, policy)
        row = cycle_metrics(outcome, world.groups, params.budget)
        rows.append(row)
        paper_rows.append(paper_row(outcome, world.groups, params.budget))
        for name, values in per_area_metrics(outcome).items():
            areas[name].append(values)
        if keep_outcomes:
            outcomes.append(outcome)
        if on_cycle is not None:
            on_cycle(outcome.cycle, row)
    stacked = {name: np.stack(values) for name, values in areas.items()}
    return ReplicateResult(rows, paper_rows, stacked, outcomes)


def aggregate(rows: list[list[dict[str, float]]], interval: float) -> pd.DataFrame:
    """One row per cycle: the mean over replicates of every metric and, with R > 1, the
    central ``interval`` of the replicates as ``<metric>_lo`` / ``<metric>_hi``."""
    frames = [pd.DataFrame(r) for r in rows]
    stacked = np.stack([f.to_numpy(dtype=float) for f in frames])  # (R, K, M)
    columns = list(frames[0].columns)
    with warnings.catch_warnings():  # all-NaN metrics (e.g. no retraining) stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        table = pd.DataFrame(_nanmean_stack(list(stacked)), columns=columns)
        if len(rows) > 1:
            tail = (1 - interval) / 2
            lo = np.nanquantile(stacked, tail, axis=0)
            hi = np.nanquantile(stacked, 1 - tail, axis=0)
            for j, name in enumerate(columns[1:], start=1):
                table[f"{name}_lo"], table[f"{name}_hi"] = lo[:, j], hi[:, j]
    table["cycle"] = table["cycle"].astype(int)
    return table


def simulate(
    params: Params,
    world: World,
    make_forecaster: ForecasterFactory,
    policy: Policy,
    *,
    seed: int,
    replicates: int = 1,
    interval: float = 0.95,
    on_cycle: CycleCallback | None = None,
    keep_outcomes: bool = False,
) -> SimulationResult:
    """Run every replicate (module docstring) and aggregate their histories."""
    if params.detection == "expected" and replicates != 1:
        raise ValueError("expected-value detection is deterministic: use one replicate")
    started = time.perf_counter()
    results = []
    for r, child in enumerate(replicate_seeds(seed, replicates)):
        callback = None if on_cycle is None else (lambda c, row, r=r: on_cycle(r, c, row))
        rng = np.random.default_rng(child)
        results.append(
            run_replicate(
                params, world, make_forecaster(child), policy, rng, callback, keep_outcomes
            )
        )
    history = aggregate([r.rows for r in results], interval)
    paper = aggregate([r.paper_rows for r in results], interval)[list(PAPER_COLUMNS)]
    return SimulationResult(params, results, history, paper, time.perf_counter() - started)
