"""One deployment period, shared by both modes: allocate on the forecast, then observe.

Arrays are (L, N): L bins of the period × N areas (time first, as the policies expect).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch

from fase.forecasters.base import TrainingRequest
from fase.models.distributions import CountDistribution
from fase.simulation.params import Params
from fase.simulation.state import State
from fase.training.forecast import SpanForecast


@dataclass(frozen=True)
class PeriodForecast:
    """The predictive distribution of L bins × N areas a period was deployed with.

    Attributes:
        mu: (L, N) float64 NB mean μ (the paper allocates on it).
        expected: (L, N) float64 expected count E[Y] ((1 − π)·μ for ZINB).
        log_prob: maps counts (L, N) to log p(counts) (L, N) float64 (non-integer counts
            go through the continuous extension of y!).
    """

    mu: np.ndarray
    expected: np.ndarray
    log_prob: Callable[[np.ndarray], np.ndarray]

    @classmethod
    def of(cls, span: SpanForecast) -> PeriodForecast:
        """A forecaster's forecast of the period's bins (its distribution is built when a
        metric first asks for a likelihood, not at every pass of the fixed point)."""

        @cache
        def distribution() -> CountDistribution:
            return span.to_distribution()

        def log_prob(counts: np.ndarray) -> np.ndarray:
            return distribution().log_prob(torch.from_numpy(np.asarray(counts, float))).numpy()

        return cls(span.mu, span.expected.astype(np.float64), log_prob)


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
    forecast: PeriodForecast
    risk: np.ndarray
    patrol: np.ndarray
    detection: np.ndarray
    true: np.ndarray
    observed: np.ndarray
    passes: int = 1


def risk_of(forecast: PeriodForecast, params: Params) -> np.ndarray:
    """The (L, N) array the policy allocates on: μ or E[Y] (``params.risk``)."""
    return forecast.mu if params.risk == "mu" else forecast.expected


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


@dataclass(frozen=True)
class PendingCycle:
    """A cycle deployed and observed whose retraining has not run yet: the simulator
    retrains the forecasters of several simulations together (one batched retraining)
    between :func:`~fase.simulation.step.deploy` and :meth:`outcome`.

    Attributes:
        state: the state after the cycle.
        cycle: 0-based cycle index.
        deployment: the period as deployed.
        request: the retraining the cycle ends with.
    """

    state: State
    cycle: int
    deployment: Deployment
    request: TrainingRequest

    def outcome(self, losses: list[float]) -> CycleOutcome:
        """The cycle's outcome once its retraining returned ``losses`` (one per epoch)."""
        trained = self.request.target_bins if self.request.epochs else np.zeros(0, np.int64)
        return CycleOutcome(self.cycle, self.deployment, losses, trained)
