"""``poisson_glm``: log μ[v, t] = b + w · x[v, t, :] on the scaled features, one intercept
and F weights shared by all areas (no per-area intercept: the static features describe the
areas), fitted by maximising the exact Poisson log-likelihood on the training cells with a
small L2 penalty on w (Newton / IRLS, float64, deterministic). Law Poisson(μ).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from fase.errors import FaseInputError
from fase.forecasters.base import FitReport, Forecaster, ForecastRequest, TrainingRequest
from fase.forecasters.data import ForecastData
from fase.forecasters.registry import ForecasterSettings, register
from fase.forecasters.statistical import (
    StatisticalForecaster,
    check_span,
    floored_mean,
    target_columns,
    train_span,
)
from fase.models.distributions import CountDistribution, Poisson


def fit_poisson_glm(
    x: np.ndarray,
    y: np.ndarray,
    l2: float,
    max_iter: int = 50,
    start: np.ndarray | None = None,
) -> tuple[float, np.ndarray, int]:
    """Penalised Poisson MLE of log μ = b + w·x by Newton's method (IRLS).

    Minimises f(b, w) = mean_i [μ_i − y_i·log μ_i] + l2/2·|w|² (the Poisson NLL without
    log y!, per cell; b is not penalised), which is convex. From b = log ȳ (ȳ floored at
    0.5/M), w = 0, each step solves H·d = −∇f with H = Zᵀ diag(μ) Z / M + l2·diag(0, 1…1),
    Z = [1, x], halving d until f decreases; it stops when |∇f|∞ < 1e-10.

    Args:
        x: (M, F) features; y: (M,) counts (fractional ones too); l2: penalty ≥ 0;
        max_iter: Newton steps at most; start: (F + 1,) initial [b, w] (a refit).
    Returns:
        (b, w (F,), Newton steps taken).
    """
    design = np.column_stack([np.ones(len(x)), np.asarray(x, np.float64)])
    y = np.asarray(y, np.float64)
    penalty = np.full(design.shape[1], l2)
    penalty[0] = 0.0

    def objective(coef: np.ndarray) -> float:
        eta = design @ coef
        return float(np.mean(np.exp(eta) - y * eta) + 0.5 * (penalty * coef**2).sum())

    if start is not None:
        coef = np.asarray(start, np.float64).copy()
    else:
        coef = np.zeros(design.shape[1])
        coef[0] = np.log(floored_mean(y.sum(), len(y)))
    value = objective(coef)
    for step in range(1, max_iter + 1):
        mu = np.exp(design @ coef)
        gradient = design.T @ (mu - y) / len(y) + penalty * coef
        if np.abs(gradient).max() < 1e-10:
            return float(coef[0]), coef[1:], step - 1
        hessian = (design * mu[:, None]).T @ design / len(y) + np.diag(penalty)
        direction = -np.linalg.solve(hessian, gradient)
        size = 1.0
        while (trial := objective(coef + size * direction)) > value and size > 1e-10:
            size /= 2
        coef, value = coef + size * direction, trial
    return float(coef[0]), coef[1:], max_iter


class PoissonGLM(StatisticalForecaster):
    """log μ = b + w·x on the F scaled features: :func:`fit_poisson_glm` on the training
    cells (all areas and bins pooled), Poisson(μ). Retraining refits on the training
    cells and the request's target cells, from the current coefficients."""

    name = "poisson_glm"

    def __init__(self, l2: float = 1e-4) -> None:
        super().__init__()
        self.l2 = l2
        self.intercept: float | None = None
        self.weights: np.ndarray | None = None  # (F,)
        self._train_cells: tuple[np.ndarray, np.ndarray] | None = None  # x (M, F), y (M,)

    def remember(self, data: ForecastData) -> None:
        super().remember(data)
        start, end = train_span(data)
        x = data.x[:, start:end].reshape(-1, data.num_features)
        self._train_cells = (x, data.y[:, start:end].reshape(-1))

    def fit(self, data: ForecastData, *, seed: int, **_: object) -> FitReport:
        started = time.perf_counter()
        self.remember(data)
        assert self._train_cells is not None
        self.intercept, self.weights, steps = fit_poisson_glm(*self._train_cells, self.l2)
        return FitReport(seconds=time.perf_counter() - started, notes={"newton_steps": steps})

    def _rate(self, x: np.ndarray) -> np.ndarray:
        """(N, T) μ of the features x (N, T, F)."""
        self.require_fitted(self.intercept is not None and self.weights is not None)
        if x.shape[-1] != len(self.weights):
            raise FaseInputError(
                "data", f"has {x.shape[-1]} features, the model {len(self.weights)}"
            )
        return np.exp(self.intercept + x.astype(np.float64) @ self.weights)

    def predict(self, data: ForecastData, start: int, end: int) -> CountDistribution:
        check_span(data, start, end, data.num_nodes)
        mu = self._rate(data.x[:, start:end])
        return Poisson(torch.as_tensor(mu.T.copy(), dtype=torch.float64))

    def law(self, request: ForecastRequest) -> CountDistribution:
        mu = self._rate(request.x[:, request.columns])
        return Poisson(torch.as_tensor(mu.T.copy(), dtype=torch.float64))

    def retrain(self, request: TrainingRequest) -> list[float]:
        self.require_fitted(self._train_cells is not None and self.weights is not None)
        if request.epochs == 0 or request.starts.size == 0:
            return []
        lo, hi = target_columns(request)
        x_train, y_train = self._train_cells
        x = np.concatenate([x_train, request.x[:, lo:hi].reshape(-1, x_train.shape[1])])
        y = np.concatenate([y_train, np.asarray(request.counts[:, lo:hi]).reshape(-1)])
        start = np.concatenate([[self.intercept], self.weights])
        self.intercept, self.weights, _ = fit_poisson_glm(x, y, self.l2, start=start)
        return []

    def state(self) -> dict[str, np.ndarray]:
        self.require_fitted(self.intercept is not None and self.weights is not None)
        return {"intercept": np.array([self.intercept]), "weights": self.weights}

    def restore(self, data: ForecastData, state: dict[str, np.ndarray]) -> None:
        self.remember(data)
        self.intercept, self.weights = float(state["intercept"][0]), state["weights"]

    @property
    def num_parameters(self) -> int:
        return 0 if self.weights is None else len(self.weights) + 1


@register("poisson_glm")
def _poisson_glm(settings: ForecasterSettings) -> Forecaster:
    return PoissonGLM()
