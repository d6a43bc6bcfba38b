"""Run K cycles (× R replicates, × policies) and collect the per-cycle metrics.

Replicate r uses its own detection generator and its own forecaster (a fresh copy of
the trained weights), both seeded from ``numpy.random.SeedSequence(seed).spawn(R)[r]``,
so every replicate is reproducible on its own. With expected-value detection there is
one replicate and no randomness in the environment.

The simulations of every replicate (and, in :func:`simulate_policies`, of every policy)
advance in lockstep, one cycle at a time: each deploys and observes its period, then
all retrain together. With ``batched`` (the default) the deployments advance pass by
pass, each pass's forecasts of every copy one vectorised forward pass and its
allocations one call per policy (:mod:`fase.simulation.lockstep`), and the retraining
is one batched retraining of every copy (:func:`fase.forecasters.retrain_together`:
slice k equals copy k retrained alone up to float rounding); without, each copy
forecasts and retrains alone, and the numbers are those of running the simulations one
after another.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fase.allocation.policies import Policy
from fase.forecasters import retrain_together
from fase.forecasters.base import Forecaster
from fase.simulation.deployment import CycleOutcome
from fase.simulation.lockstep import work_together
from fase.simulation.metrics import PAPER_COLUMNS, PER_AREA_ARRAYS, cycle_metrics, paper_row
from fase.simulation.metrics import per_area as per_area_metrics
from fase.simulation.params import Params, World
from fase.simulation.state import initial_state
from fase.simulation.step import deploy_work

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
    callback = None if on_cycle is None else (lambda _, cycle, row: on_cycle(cycle, row))
    lane = Lane(forecaster, policy, rng)
    return run_lanes(params, world, [lane], callback, keep_outcomes, batched=False)[0]


@dataclass(frozen=True)
class Lane:
    """One simulation of a lockstep run: its forecaster, policy and detection generator."""

    forecaster: Forecaster
    policy: Policy
    rng: np.random.Generator


def run_lanes(
    params: Params,
    world: World,
    lanes: Sequence[Lane],
    on_cycle: Callable[[int, int, dict[str, float]], None] | None = None,
    keep_outcomes: bool = False,
    batched: bool = True,
) -> list[ReplicateResult]:
    """Every lane's ``params.cycles`` cycles in lockstep (module docstring);
    ``on_cycle(lane, cycle, row)`` after every lane's cycle."""
    states = [initial_state(params, world, lane.rng) for lane in lanes]
    collected = [_Collector(keep_outcomes) for _ in lanes]
    forecasters = [lane.forecaster for lane in lanes]
    for _ in range(params.cycles):
        works = [
            deploy_work(params, world, state, lane.forecaster, lane.policy)
            for state, lane in zip(states, lanes, strict=True)
        ]
        pending = work_together(works, forecasters, world.groups, batched)
        requests = [cycle.request for cycle in pending]
        if batched:
            losses = retrain_together(forecasters, requests)
        else:
            losses = [f.retrain(r) for f, r in zip(forecasters, requests, strict=True)]
        for j, (cycle, lost) in enumerate(zip(pending, losses, strict=True)):
            states[j] = cycle.state
            outcome = cycle.outcome(lost)
            row = collected[j].add(outcome, world, params)
            if on_cycle is not None:
                on_cycle(j, outcome.cycle, row)
    return [collector.result() for collector in collected]


class _Collector:
    """One lane's rows, reference rows and per-area arrays, cycle after cycle."""

    def __init__(self, keep_outcomes: bool) -> None:
        self.keep_outcomes = keep_outcomes
        self.rows: list[dict[str, float]] = []
        self.paper_rows: list[dict[str, float]] = []
        self.outcomes: list[CycleOutcome] = []
        self.areas: dict[str, list[np.ndarray]] = {name: [] for name in PER_AREA_ARRAYS}

    def add(self, outcome: CycleOutcome, world: World, params: Params) -> dict[str, float]:
        """Record one cycle; returns its history row."""
        row = cycle_metrics(outcome, world.groups, params.budget)
        self.rows.append(row)
        self.paper_rows.append(paper_row(outcome, world.groups, params.budget))
        for name, values in per_area_metrics(outcome).items():
            self.areas[name].append(values)
        if self.keep_outcomes:
            self.outcomes.append(outcome)
        return row

    def result(self) -> ReplicateResult:
        stacked = {name: np.stack(values) for name, values in self.areas.items()}
        return ReplicateResult(self.rows, self.paper_rows, stacked, self.outcomes)


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
    batched: bool = True,
) -> SimulationResult:
    """Run every replicate (module docstring) and aggregate their histories."""
    callback = None if on_cycle is None else (lambda _, r, c, row: on_cycle(r, c, row))
    return simulate_policies(
        params,
        world,
        make_forecaster,
        [policy],
        seed=seed,
        replicates=replicates,
        interval=interval,
        on_cycle=callback,
        keep_outcomes=keep_outcomes,
        batched=batched,
    )[0]


def simulate_policies(
    params: Params,
    world: World,
    make_forecaster: ForecasterFactory,
    policies: Sequence[Policy],
    *,
    seed: int,
    replicates: int = 1,
    interval: float = 0.95,
    on_cycle: Callable[[int, int, int, dict[str, float]], None] | None = None,
    keep_outcomes: bool = False,
    batched: bool = True,
) -> list[SimulationResult]:
    """:func:`simulate` for each policy, every policy × replicate in one lockstep run
    (module docstring); ``on_cycle(policy, replicate, cycle, row)``. Each policy's
    replicates use the same seeds as :func:`simulate` gives them; every result carries
    the wall time of the whole run."""
    if params.detection == "expected" and replicates != 1:
        raise ValueError("expected-value detection is deterministic: use one replicate")
    started = time.perf_counter()
    seeds = replicate_seeds(seed, replicates)
    lanes = [
        Lane(make_forecaster(child), policy, np.random.default_rng(child))
        for policy in policies
        for child in seeds
    ]

    def by_policy(lane: int, cycle: int, row: dict[str, float]) -> None:
        if on_cycle is not None:
            on_cycle(lane // replicates, lane % replicates, cycle, row)

    results = run_lanes(params, world, lanes, by_policy, keep_outcomes, batched)
    seconds = time.perf_counter() - started
    simulations = []
    for first in range(0, len(lanes), replicates):
        runs = results[first : first + replicates]
        history = aggregate([r.rows for r in runs], interval)
        paper = aggregate([r.paper_rows for r in runs], interval)[list(PAPER_COLUMNS)]
        simulations.append(SimulationResult(params, runs, history, paper, seconds))
    return simulations
