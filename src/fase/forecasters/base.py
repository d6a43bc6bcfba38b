"""The one forecaster interface of the model zoo: ``fit`` / ``predict`` / ``evaluate``.

Like darts' ``ForecastingModel``: every model, from the historical average to FASE,
is fitted on the training split (the validation split for early stopping or tuning
only), then predicts a count distribution for any span of bins one step ahead —
bin t from features up to t and true counts up to t − 1 — and is evaluated with the
same metrics on the same bins. Adding a model means adding one module that subclasses
:class:`Forecaster` and registers itself in :mod:`fase.zoo.registry`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
import torch

from fase.evaluation.counts import count_metrics
from fase.evaluation.hotspots import hotspot_scores
from fase.models.distributions import CountDistribution
from fase.zoo.data import ForecastData

Family = Literal["baseline", "neural", "graph", "fase"]
PAI_COVERAGE = 0.10


@dataclass(frozen=True)
class FitReport:
    """What :meth:`Forecaster.fit` did: wall time (s), epochs run (0 when not iterative),
    the best validation loss (NaN when none) and free-form notes for the leaderboard."""

    seconds: float
    epochs: int = 0
    best_val_loss: float = float("nan")
    notes: dict[str, float | int | str] = field(default_factory=dict)


class Forecaster(ABC):
    """A count forecaster over a city's areas (see the module docstring).

    Class attributes: ``name`` (registry key), ``family`` and ``objective``: what the
    model was trained to minimise — ``"nll"`` (its distribution's likelihood) or
    ``"mse"`` (squared error; its NLL is then a Poisson NLL around its prediction,
    reported as such).
    """

    name: ClassVar[str]
    family: ClassVar[Family]
    objective: ClassVar[Literal["nll", "mse"]] = "nll"

    @abstractmethod
    def fit(self, data: ForecastData, *, seed: int, out_dir: Path | None = None) -> FitReport:
        """Fit on ``data``'s training split (validation: early stopping only).

        ``out_dir``: where iterative models keep checkpoints and logs (None: a
        temporary directory).
        """

    @abstractmethod
    def predict(self, data: ForecastData, start: int, end: int) -> CountDistribution:
        """Distribution of the counts of bins [start, end), parameters (T, N) float64."""

    @property
    def num_parameters(self) -> int:
        """Fitted parameters (0 for a model without any)."""
        return 0

    def evaluate(self, data: ForecastData, split: str = "test") -> dict[str, float]:
        """Scores on ``split``: mean NLL, MAE, RMSE of E[Y] and PAI at 10 % of the areas.

        Returns:
            ``{"nll", "mae", "rmse", "pai_10"}``; NLL per area-bin (nats), PAI pooled
            over the split (count mode, ties by index).
        """
        start, end = data.bounds(split)
        return score_distribution(self.predict(data, start, end), data, start, end)


def score_distribution(
    distribution: CountDistribution, data: ForecastData, start: int, end: int
) -> dict[str, float]:
    """:meth:`Forecaster.evaluate`'s metrics of a (T, N) distribution for bins [start, end)."""
    y_true = data.y[:, start:end].T.astype(np.float64)
    expected = distribution.mean.detach().cpu().double().numpy()
    log_prob = distribution.log_prob(torch.as_tensor(y_true)).detach().cpu().double().numpy()
    scores = count_metrics(y_true, expected, log_prob)
    pai = hotspot_scores(expected, y_true, PAI_COVERAGE, data.area_km2).summary()["pai_pooled"]
    return {
        "nll": float(scores["nll"]),
        "mae": float(scores["mae"]),
        "rmse": float(scores["rmse"]),
        "pai_10": float("nan") if pai is None else float(pai),
    }
