"""Phase 5: the closed-loop deployment feedback simulator.

Structured like ml-fairness-gym's environments: frozen :class:`Params` and
:class:`World` (what stays fixed), a :class:`State` (what changes), :func:`step` (one
deployment cycle) and per-cycle metrics, each usable and tested on its own. The
simulator talks to the model through :class:`fase.forecasters.Forecaster` (any
registered model) and to the allocation through a :class:`~fase.allocation.Policy`.

What this environment cannot model (it is a thought experiment, not a forecast of a
real deployment):

* detection is a fixed function of patrol units in the same area and bin,
  d = p_base + (p_max − p_base)·clip(p/B, 0, 1), identical for every area, crime type
  and time; real recording depends on reporting by the public, crime type, officer
  behaviour and neighbouring patrols, none of which is modelled;
* patrols do not change crime: the true counts are replayed from data whatever the
  allocation (no deterrence, displacement or arrests);
* the "true" counts are themselves police records, already shaped by past policing,
  so the simulator measures bias added *on top of* the historical record;
* binomial detection treats incidents as independent; expected-value detection
  produces fractional counts, on which count likelihoods are only a continuous
  extension;
* the patrol-exposure feature is 0 in all training data, so a freshly trained model
  reacts to it through untrained weights until it is retrained on deployed periods;
* the paper mode reproduces the reference code's leaky experiment (the same test
  window every cycle, true counts as inputs, no compounding) on purpose.
"""

from fase.simulation.deployment import CycleOutcome, Deployment, PeriodForecast
from fase.simulation.detection import IncidentDraws, draw_incidents, observe
from fase.simulation.metrics import PAPER_COLUMNS, cycle_metrics, paper_row, per_area
from fase.simulation.params import FeatureMap, Params, World
from fase.simulation.runner import SimulationResult, simulate
from fase.simulation.state import State, initial_state
from fase.simulation.step import step

__all__ = [
    "PAPER_COLUMNS",
    "CycleOutcome",
    "Deployment",
    "FeatureMap",
    "IncidentDraws",
    "Params",
    "PeriodForecast",
    "SimulationResult",
    "State",
    "World",
    "cycle_metrics",
    "draw_incidents",
    "initial_state",
    "observe",
    "paper_row",
    "per_area",
    "simulate",
    "step",
]
