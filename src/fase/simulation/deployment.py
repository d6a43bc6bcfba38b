"""One deployment period, shared by both modes: allocate on the forecast, then observe.

Arrays are (L, N): L bins of the period × N areas (time first, as the policies expect).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fase.allocation.groups import Groups
from fase.allocation.policies import Policy
from fase.simulation.detection import IncidentDraws, observe
from fase.simulation.forecaster import Forecast
from fase.simulation.params import Params


@dataclass(frozen=True)
class Deployment:
    """What happened in one period [start, stop).

    Attributes:
        start, stop: absolute bins.
        forecast: the model's forecast of the period (made before it was deployed).
        risk: (L, N) the forecast array the policy allocated on (μ or E[Y]).
        patrol: (L, N) patrol units.
        detection: (L, N) detection probability d.
        true: (L, N) true counts.
        observed: (L, N) observed counts.
        passes: forward passes the rolling fixed point needed (1 in paper mode).
    """

    start: int
    stop: int
    forecast: Forecast
    risk: np.ndarray
    patrol: np.ndarray
    detection: np.ndarray
    true: np.ndarray
    observed: np.ndarray
    passes: int = 1


def risk_of(forecast: Forecast, params: Params) -> np.ndarray:
    """The (L, N) array the policy allocates on: μ or E[Y] (``params.risk``)."""
    return forecast.mu if params.risk == "mu" else forecast.expected


def allocate_and_observe(
    forecast: Forecast,
    true: np.ndarray,
    policy: Policy,
    groups: Groups,
    params: Params,
    draws: IncidentDraws | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Allocate the whole period at once and apply detection.

    Returns:
        risk, patrol, d, observed: each (L, N).
    """
    risk = risk_of(forecast, params)
    patrol = policy.allocate(risk, groups)
    d, observed = observe(true, patrol, params.budget, params.p_base, params.p_max, draws)
    return risk, patrol, d, observed


def retrain_starts(first: int, stop: int, window: int, align: str) -> np.ndarray:
    """Non-overlapping window starts inside [first, stop), (K,) int64 ascending.

    ``align="start"`` (paper): first, first + W, …; the tail is dropped.
    ``align="end"`` (rolling): …, stop − 2W, stop − W, so the newest bins are kept and
    the oldest partial window is dropped.
    """
    count = max(0, (stop - first) // window)
    if align == "start":
        return first + window * np.arange(count, dtype=np.int64)
    return stop - window * np.arange(count, 0, -1, dtype=np.int64)


@dataclass(frozen=True)
class CycleOutcome:
    """Result of one cycle: its deployment and the retraining that followed it.

    Attributes:
        cycle: 0-based cycle index.
        deployment: the period deployed with the model as it was *before* this cycle's
            retraining (the allocation metrics of a row come from it).
        losses: the loss of every retraining epoch *after* the deployment.
        trained_bins: (K·W,) absolute bins used as retraining targets.
    """

    cycle: int
    deployment: Deployment
    losses: list[float]
    trained_bins: np.ndarray
