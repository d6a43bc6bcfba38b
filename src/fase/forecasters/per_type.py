"""Per-crime-type forecasts from any single-series forecaster: one copy per type.

A network forecasts the K crime types jointly (one output per type, shared layers; see
:class:`~fase.forecasters.neural.NeuralForecaster`). A model without shared layers —
the baselines, the GLM, the Hawkes MLE — forecasts each type with its own copy, fitted
on that type's counts alone (:class:`PerTypeForecaster`). Either way the forecast of the
total is the law of the sum of the independent per-type counts
(:class:`~fase.models.distributions.SumOfIndependent`), so the total's expected count is
the sum of the types'.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Self

import numpy as np
import torch

from fase.forecasters.base import FitReport, Forecaster, ForecastRequest, TrainingRequest
from fase.forecasters.data import ForecastData
from fase.forecasters.statistical import POISSON_THETA
from fase.models.distributions import (
    CountDistribution,
    NegativeBinomial,
    Poisson,
    SumOfIndependent,
)
from fase.training.forecast import SpanForecast

if TYPE_CHECKING:
    from fase.training.checkpoint import TrainingState


def stack_laws(laws: Sequence[CountDistribution]) -> CountDistribution:
    """K Poisson or NB laws of shape (…) as one law of shape (…, K): Poisson if all are,
    else NB with θ = ``POISSON_THETA`` standing for the Poisson ones."""
    means = torch.stack([law.mean for law in laws], dim=-1)
    if all(isinstance(law, Poisson) for law in laws):
        return Poisson(means)
    thetas = []
    for law in laws:
        if isinstance(law, NegativeBinomial):
            thetas.append(law.theta)
        elif isinstance(law, Poisson):
            thetas.append(torch.full_like(law.mean, POISSON_THETA))
        else:
            raise TypeError(f"cannot stack a {law.name} law per crime type")
    return NegativeBinomial(means, torch.stack(thetas, dim=-1))


class PerTypeForecaster(Forecaster):
    """K copies of ``prototype``, copy k fitted on crime type k's counts (module docstring).

    It is scored like any forecaster (:meth:`predict` gives the law of the total, with
    the per-type law as ``.components``); it does not deploy.
    """

    def __init__(self, prototype: Forecaster) -> None:
        self.prototype = prototype
        self.models: list[Forecaster] = []
        self.name = prototype.name  # type: ignore[misc]
        self.family = prototype.family  # type: ignore[misc]
        self.objective = prototype.objective  # type: ignore[misc]

    def fit(
        self,
        data: ForecastData,
        *,
        seed: int,
        out_dir: Path | None = None,
        resume: bool = False,
        progress: bool | None = False,
        on_epoch_end: Callable[[TrainingState], None] | None = None,
    ) -> FitReport:
        """Fit one copy per crime type on that type's counts (same seed)."""
        started = time.perf_counter()
        self.models = []
        for k in range(len(data.type_names)):
            model = copy.deepcopy(self.prototype)
            model.fit(data.crime_type(k), seed=seed)
            self.models.append(model)
        return FitReport(seconds=time.perf_counter() - started)

    def predict(self, data: ForecastData, start: int, end: int) -> CountDistribution:
        self.require_fitted(bool(self.models))
        laws = [m.predict(data.crime_type(k), start, end) for k, m in enumerate(self.models)]
        return SumOfIndependent(stack_laws(laws))

    @property
    def num_parameters(self) -> int:
        return sum(model.num_parameters for model in self.models)

    @property
    def history_steps(self) -> int:
        return self.prototype.history_steps

    @property
    def warmup_steps(self) -> int:
        return self.prototype.warmup_steps

    def _not_deployable(self) -> ValueError:
        return ValueError(f"{self.name} per crime type is for comparisons: it cannot be deployed")

    def forecast(self, request: ForecastRequest) -> SpanForecast:
        raise self._not_deployable()

    def retrain(self, request: TrainingRequest) -> list[float]:
        raise self._not_deployable()

    def clone(self, seed: int, device: str | torch.device | None = None) -> Self:
        raise self._not_deployable()

    def state(self) -> dict[str, np.ndarray]:
        raise self._not_deployable()

    def restore(self, data: ForecastData, state: dict[str, np.ndarray]) -> None:
        raise self._not_deployable()
