"""``step()``: advance the simulation by one deployment cycle.

    state', outcome = step(params, world, state, forecaster, policy)

The mode (``params.mode``) picks the cycle: :func:`~fase.simulation.rolling.rolling_step`
(the corrected experiment) or :func:`~fase.simulation.paper.paper_step` (the reference
code's). Both forecast, allocate every bin of the period at once, observe through the
detection model and retrain the forecaster in place; the returned
:class:`~fase.simulation.deployment.CycleOutcome` holds everything the metrics need.
"""

from __future__ import annotations

from fase.allocation.policies import Policy
from fase.forecasters.base import Forecaster
from fase.simulation.deployment import CycleOutcome
from fase.simulation.paper import paper_step
from fase.simulation.params import Params, World
from fase.simulation.rolling import rolling_step
from fase.simulation.state import State


def step(
    params: Params, world: World, state: State, forecaster: Forecaster, policy: Policy
) -> tuple[State, CycleOutcome]:
    """One cycle in ``params.mode``; returns the next state and what happened."""
    if state.cycle >= params.cycles:
        raise ValueError(f"all {params.cycles} cycles have run")
    if params.mode == "paper":
        return paper_step(params, world, state, forecaster, policy)
    return rolling_step(params, world, state, forecaster, policy)
