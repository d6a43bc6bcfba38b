"""``step()``: advance the simulation by one deployment cycle.

    state', outcome = step(params, world, state, forecaster, policy)

The mode (``params.mode``) picks the cycle: :func:`~fase.simulation.rolling.rolling_deploy`
(the corrected experiment) or :func:`~fase.simulation.paper.paper_deploy` (the reference
code's). Both forecast, allocate every bin of the period and observe through the
detection model (:func:`deploy`, or :func:`deploy_work`: the same cycle as a generator
of its questions, which :mod:`fase.simulation.lockstep` answers for many simulations
together); the cycle ends by retraining the forecaster in place on the request
:func:`deploy` returns. The returned
:class:`~fase.simulation.deployment.CycleOutcome` holds everything the metrics need.
"""

from __future__ import annotations

from fase.allocation.policies import Policy
from fase.forecasters.base import Forecaster
from fase.simulation.deployment import CycleOutcome, PendingCycle
from fase.simulation.lockstep import CycleWork, work_alone
from fase.simulation.paper import paper_deploy
from fase.simulation.params import Params, World
from fase.simulation.rolling import rolling_deploy
from fase.simulation.state import State


def deploy_work(
    params: Params, world: World, state: State, forecaster: Forecaster, policy: Policy
) -> CycleWork:
    """One cycle in ``params.mode`` up to its retraining, as a generator of the forecasts
    and allocations it asks for (:mod:`fase.simulation.lockstep`)."""
    if state.cycle >= params.cycles:
        raise ValueError(f"all {params.cycles} cycles have run")
    if params.mode == "paper":
        return paper_deploy(params, world, state, forecaster, policy)
    return rolling_deploy(params, world, state, forecaster, policy)


def deploy(
    params: Params, world: World, state: State, forecaster: Forecaster, policy: Policy
) -> PendingCycle:
    """One cycle in ``params.mode`` up to its retraining, which the caller runs."""
    work = deploy_work(params, world, state, forecaster, policy)
    return work_alone(work, forecaster, world.groups)


def step(
    params: Params, world: World, state: State, forecaster: Forecaster, policy: Policy
) -> tuple[State, CycleOutcome]:
    """One cycle in ``params.mode``, retraining included; the next state and what happened."""
    pending = deploy(params, world, state, forecaster, policy)
    return pending.state, pending.outcome(forecaster.retrain(pending.request))
