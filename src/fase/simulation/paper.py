"""The reference code's cycle (reference §5.2), reproduced on purpose, leaks included.

Every cycle uses the same window W_test = [start, start + L) (the test split):

1. inference: one forward pass over W_test with features built from the TRUE counts
   and the TRUE counts as Hawkes history (reference §7.2 item 10);
2. allocation of every bin at once by the policy (the paper: the LP on μ, solved in
   closed form by :func:`fase.allocation.solve_dir_lp`);
3. detection, recomputed from the true counts every cycle, so bias never compounds
   (item 12): y_obs = d·y (expected) or Binomial(y, d);
4. retraining on W_test itself (item 9, test-set leakage): non-overlapping windows
   starting at start, start + W, … (tail dropped), features still from TRUE counts,
   targets and Hawkes history = y_obs (fractional with expected detection, item 13),
   a fresh Adam, batch of ``retrain_batch`` windows, dropout on, clipping.

The cycle's metrics therefore mix the allocation made *before* retraining with the
loss *of* retraining (item 14), and every later cycle scores data it has trained on.
"""

from __future__ import annotations

from fase.allocation.policies import Policy
from fase.forecasters.base import Forecaster, ForecastRequest
from fase.simulation.deployment import (
    Deployment,
    PendingCycle,
    PeriodForecast,
    retrain_starts,
    risk_of,
)
from fase.simulation.detection import draw_incidents, observe
from fase.simulation.lockstep import Allocation, CycleWork
from fase.simulation.params import Params, World
from fase.simulation.state import State


def paper_deploy(
    params: Params, world: World, state: State, forecaster: Forecaster, policy: Policy
) -> CycleWork:
    """Steps 1–3 of one reference cycle and the request of step 4 (module docstring);
    the record in ``state`` is left unchanged. A generator of the cycle's two questions
    (:mod:`fase.simulation.lockstep`)."""
    start, stop = params.period(state.cycle)
    first = max(0, start - forecaster.history_steps)  # Hawkes history before the window
    x = world.true_features[:, first:stop]
    true_window = world.true_counts[:, first:stop]
    calendar = world.features.hour_of_week(first, stop)
    request = ForecastRequest(first, x, true_window, start, stop, 0, calendar)
    forecast = PeriodForecast.of((yield request))  # type: ignore[arg-type]
    true = world.true_counts[:, start:stop].T
    draws = draw_incidents(true, state.rng) if params.detection == "binomial" else None
    risk = risk_of(forecast, params)
    patrol = yield Allocation(policy, risk)
    d, observed = observe(true, patrol, params.budget, params.p_base, params.p_max, draws)
    deployment = Deployment(start, stop, forecast, risk, patrol, d, true, observed)
    counts = true_window.copy()
    counts[:, start - first :] = observed.T
    starts = retrain_starts(start, stop, params.retrain_window, align="start")
    request = params.retraining(first, x, counts, starts, calendar)
    return PendingCycle(state.advance(), state.cycle, deployment, request)
