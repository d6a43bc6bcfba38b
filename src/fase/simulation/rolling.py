"""The corrected cycle: deploy the next period, observe it, retrain on what was observed.

Cycle k deploys the period P_k = [start + kL, start + (k+1)L) right after the data the
model has seen:

1. forecast P_k one step ahead from the police record only: counts before ``start``
   are the historical record, every deployed bin holds its *observed* count, and the
   patrol-exposure feature holds the past allocations; features are rebuilt with
   :func:`fase.data.features.build_features`, the Hawkes history is the record;
2. allocate every bin of P_k at once with the policy, apply detection;
3. record y_obs and the patrols: they replace the truth in every input the model sees
   later, so a bias in what gets recorded can compound;
4. retrain on the deployed periods P_0..P_k only (observed counts as targets and
   history, non-overlapping windows aligned to the end of P_k).

Hourly deployment is causal inside a period too: the forecast for bin t reads the
counts observed up to t − 1, which depend on the patrols of bins < t, which depend on
their forecasts. The period is solved as a fixed point with vectorised passes: start
from "no patrol", forecast a block of bins in one forward pass, allocate the block at
once, observe, rebuild the inputs, repeat. Because bin t depends only on earlier bins,
every bin up to the first one whose allocation changed is exact after a pass, so each
pass settles at least one bin and the result equals an hour-by-hour simulation; the
passes are reported as ``forecast_passes`` (a few when the allocation is insensitive
to the recorded counts, up to L when it is very sensitive). ``Params.forecast_block``
fixes the bins per pass; by default the block adapts (see :func:`deploy_period`).

The forecast that scores P_k was made by a model trained on P_0..P_{k−1} at most, and
each binomial draw is fixed per period (common random numbers across passes).

A pass rebuilds only the features that can have changed: bin t's features read the
record up to t − 1, so once rows < t of the period are settled they are final and kept;
each pass builds the bins from its first unsettled one on (one bin per pass, hour by
hour). The cycle is a generator of questions (:mod:`fase.simulation.lockstep`), so the
passes of many simulations can be answered together.
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np

from fase.allocation.policies import Policy
from fase.errors import FaseInputError
from fase.forecasters.base import Forecaster, ForecastRequest, TrainingRequest
from fase.simulation.deployment import (
    Deployment,
    PendingCycle,
    PeriodForecast,
    retrain_starts,
    risk_of,
)
from fase.simulation.detection import draw_incidents, observe
from fase.simulation.lockstep import Allocation, Answer, CycleWork, Question
from fase.simulation.params import Params, World
from fase.simulation.state import State
from fase.training.forecast import SpanForecast


def rolling_deploy(
    params: Params, world: World, state: State, forecaster: Forecaster, policy: Policy
) -> CycleWork:
    """Deploy and observe period ``state.cycle``, and the request that retrains on it
    (module docstring); a generator of the cycle's questions."""
    start, stop = params.period(state.cycle)
    if stop > world.n_bins:
        raise FaseInputError(
            "simulation.cycles",
            f"cycle {state.cycle + 1} needs bins up to {stop}, the data end at {world.n_bins}",
            "use fewer cycles or a shorter simulation.period",
        )
    deployment = yield from deploy_period(params, world, state, forecaster, policy, start, stop)
    state = state.record(start, stop, deployment.observed.T, deployment.patrol.T)
    request = _training_request(params, world, state, forecaster.history_steps, stop)
    return PendingCycle(state, state.cycle - 1, deployment, request)


def deploy_period(
    params: Params,
    world: World,
    state: State,
    forecaster: Forecaster,
    policy: Policy,
    start: int,
    stop: int,
) -> Generator[Question, Answer, Deployment]:
    """Forecast, allocate and observe [start, stop) at the causal fixed point.

    Rows (bins) [0, settled) of the period are final. Each pass forecasts the next
    ``block`` rows from the current iterate and allocates them; the rows up to and
    including the first one whose allocation differs from the iterate become final
    (their inputs were exact), the iterate takes the new allocation, and the
    observations are recomputed. Every pass settles at least one row.

    ``params.forecast_block`` fixes the block; None adapts it: passes cover the rest of
    the period until a pass after the first settles a single row, then one row each.
    A policy that ignores small changes in the record (the paper's LP) thus settles the
    period in a few passes, and one whose allocation moves with every recorded count
    (any continuous policy) runs hour by hour at one cheap pass per bin.
    """
    true = world.true_counts[:, start:stop].T
    length = stop - start
    block = params.forecast_block or length
    draws = draw_incidents(true, state.rng) if params.detection == "binomial" else None
    inputs = PassInputs(world, state, forecaster, start, stop)
    patrol = np.zeros_like(true)
    d, observed = observe(true, patrol, params.budget, params.p_base, params.p_max, draws)
    pieces: list[SpanForecast] = []  # the settled rows of each pass's forecast
    settled = passes = 0
    while settled < length:
        passes += 1
        lo, hi = start + settled, start + min(settled + block, length)
        request = inputs.request(observed, patrol, lo, hi)
        span: SpanForecast = yield request  # type: ignore[assignment]
        allocated = yield Allocation(policy, risk_of(PeriodForecast.of(span), params))
        rows = slice(settled, settled + hi - lo)
        changed = np.flatnonzero((allocated != patrol[rows]).any(axis=1))
        final = hi - lo if changed.size == 0 else int(changed[0]) + 1
        pieces.append(span.rows(0, final))
        patrol[rows] = allocated
        d, observed = observe(true, patrol, params.budget, params.p_base, params.p_max, draws)
        settled += final
        if params.forecast_block is None and passes >= 2 and final == 1:
            block = 1  # the allocation follows every recorded count: go hour by hour
    forecast = PeriodForecast.of(SpanForecast.concat(pieces))  # one likelihood for all
    risk = risk_of(forecast, params)
    return Deployment(start, stop, forecast, risk, patrol, d, true, observed, passes)


class PassInputs:
    """The forecast requests of one period's passes, from the record and the iterate.

    Holds the lane's record and patrol history of the bins the passes read (from the
    features' margin before ``first`` up to ``stop``), the period's columns rewritten
    from the iterate at every pass, and the scaled features of bins [first, stop) already
    final: bin t's features read the record and the patrols up to t − 1, so once a pass
    starts at ``lo`` (rows < lo settled), the features of bins ≤ lo no longer change.
    """

    def __init__(
        self, world: World, state: State, forecaster: Forecaster, start: int, stop: int
    ) -> None:
        self.world, self.start, self.stop = world, start, stop
        self.warmup, self.history = forecaster.warmup_steps, forecaster.history_steps
        self.first = max(0, start - self.warmup - self.history)  # the earliest bin read
        self.base = max(0, self.first - world.features.margin)  # column 0 of the copies
        self.record = state.observed[:, self.base : stop].copy()
        self.exposure = state.patrol[:, self.base : stop].copy()
        self.x: np.ndarray | None = None  # features of bins [first, stop)
        self.final = self.first  # features of bins [first, final) are final

    def request(
        self, observed: np.ndarray, patrol: np.ndarray, lo: int, hi: int
    ) -> ForecastRequest:
        """Inputs for forecasting [lo, hi) with the period's rows observed/patrolled as
        ``observed``, ``patrol`` (L, N)."""
        period = slice(self.start - self.base, self.stop - self.base)
        self.record[:, period], self.exposure[:, period] = observed.T, patrol.T
        fresh = self.world.features(self.record, self.exposure, self.final, hi, self.base)
        if self.x is None:
            self.x = np.empty((fresh.shape[0], self.stop - self.first, fresh.shape[2]), np.float32)
        self.x[:, self.final - self.first : hi - self.first] = fresh
        self.final = lo + 1  # every later pass starts after lo
        first = max(0, lo - self.warmup - self.history)
        x = self.x[:, first - self.first : hi - self.first].copy()
        counts = self.record[:, first - self.base : hi - self.base].copy()  # a snapshot
        if np.isnan(fresh).any() or np.isnan(counts).any():
            raise RuntimeError("a forecast input reads an unrecorded bin")  # a bug, not input
        calendar = self.world.features.hour_of_week(first, hi)
        return ForecastRequest(first, x, counts, lo, hi, self.warmup, calendar)


def _training_request(
    params: Params, world: World, state: State, history: int, stop: int
) -> TrainingRequest:
    """Windows over the deployed bins [params.start, stop), observed counts only."""
    starts = retrain_starts(params.start, stop, params.retrain_window, align="end")
    first = max(0, (int(starts[0]) if starts.size else params.start) - history)
    return params.retraining(
        first,
        world.features(state.observed, state.patrol, first, stop),
        state.observed[:, first:stop],
        starts,
        world.features.hour_of_week(first, stop),
    )
