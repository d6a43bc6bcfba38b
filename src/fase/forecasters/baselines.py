"""Simple baselines of the model zoo: historical average, seasonal naive and a Poisson GLM.

Each is fitted on the training split only and predicts bin t one step ahead (features up
to t, true counts up to t − 1, never y[:, t]). Notation: y (N, T) counts, W the bins of
a week (168 hourly, 7 daily), c(t) = ``ForecastData.season_index()[t]`` the bin's slot.

* ``historical_average``: μ[v, c] = mean of y[v, t] over the training bins with c(t) = c,
  floored at half an incident over those bins (0.5 / n_c) so that a slot with no incident
  keeps a small positive rate. A slot with no training bin falls back to the area's
  training mean (floor 0.5 / T_train). Predictive law NB(μ, θ_v) (see
  :func:`fit_dispersion`).
* ``seasonal_naive``: μ[v, t] = y[v, t − W], the true count a week earlier, except that a
  zero is replaced by f_v, the area's mean count over the training bins that followed a
  zero a week earlier (the maximum-likelihood mean of those bins; same floor). Bins
  t < W have no week-old count and get the area's mean over the training bins from W on,
  the bins on which f_v and θ_v are fitted. Law NB(μ, θ_v).
* ``poisson_glm``: log μ[v, t] = b + w · x[v, t, :] on the scaled features, one intercept
  and F weights shared by all areas (no per-area intercept: the static features describe
  the areas), fitted by maximising the exact Poisson log-likelihood on the training cells
  with a small L2 penalty on w (Newton / IRLS, float64, deterministic). Law Poisson(μ).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fase.errors import FaseInputError
from fase.models.distributions import CountDistribution, NegativeBinomial, Poisson
from fase.zoo.base import FitReport, Forecaster
from fase.zoo.data import ForecastData
from fase.zoo.registry import ZooSettings, register

THETA_BOUNDS = (1e-2, 1e6)
"""Search range of the NB dispersion θ (the lower end is the floor)."""
POISSON_THETA = 1e8
"""θ standing for Poisson in a mixed NB batch: NB(μ, 1e8) differs from Poisson(μ) by O(μ²/θ)."""
RATE_FLOOR_INCIDENTS = 0.5
"""A mean estimated from n bins is at least 0.5 / n (half an incident over those bins)."""
_GOLDEN_STEPS = 60  # golden-section steps on log θ: bracket shrinks to 0.618⁶⁰ ≈ 3e-13


def check_span(data: ForecastData, start: int, end: int, num_nodes: int) -> None:
    """Raise unless 0 ≤ start < end ≤ T and ``data`` has the fitted model's N areas."""
    if not 0 <= start < end <= data.num_steps:
        raise FaseInputError("span", f"bins [{start}, {end}) are not inside [0, {data.num_steps})")
    if data.num_nodes != num_nodes:
        raise FaseInputError(
            "data", f"has {data.num_nodes} areas, the model was fitted on {num_nodes}"
        )


def floored_mean(total: np.ndarray, bins: np.ndarray | int) -> np.ndarray:
    """total / bins, at least ``RATE_FLOOR_INCIDENTS`` / bins (bins ≥ 1)."""
    return np.maximum(total, RATE_FLOOR_INCIDENTS) / bins


@dataclass(frozen=True)
class _DispersionCells:
    """Sufficient statistics of Σ_t log NB(y[v, t]; μ[v, t], θ_v) as a function of θ.

    Cells of one area with the same μ form a group g (area a_g, mean μ_g, n_g bins,
    Y_g incidents); C[v, j] = #{t : y[v, t] > j}.
    """

    area: np.ndarray  # (G,) int64
    mu: np.ndarray  # (G,)
    bins: np.ndarray  # (G,)
    total: np.ndarray  # (G,)
    exceedances: np.ndarray  # (N, max y)

    @classmethod
    def of(cls, y: np.ndarray, mu: np.ndarray) -> _DispersionCells:
        """From (N, T) integer counts and (N, T) means > 0."""
        n = len(y)
        values, value_index = np.unique(mu, return_inverse=True)
        keys = (np.arange(n)[:, None] * len(values) + value_index.reshape(mu.shape)).ravel()
        groups, group_index = np.unique(keys, return_inverse=True)
        top = int(y.max(initial=0))
        levels = (np.arange(n)[:, None] * (top + 1) + y).ravel()
        histogram = np.bincount(levels, minlength=n * (top + 1)).reshape(n, top + 1)
        return cls(
            area=groups // len(values),
            mu=values[groups % len(values)],
            bins=np.bincount(group_index).astype(np.float64),
            total=np.bincount(group_index, weights=y.ravel().astype(np.float64)),
            exceedances=(y.shape[1] - np.cumsum(histogram, axis=1))[:, :top].astype(np.float64),
        )

    def profile(self, theta: np.ndarray) -> np.ndarray:
        """Σ_t log NB(y; μ, θ_v) − Σ_t [y·log μ − log y!] per area, (N,) for θ (N,).

        With log Γ(y+θ) − log Γ(θ) = y·log θ + Σ_{j<y} log(1 + j/θ), the NB log-pmf is
        Σ_{j<y} log1p(j/θ) − (θ + y)·log1p(μ/θ) + y·log μ − log y!, whose last two terms
        do not depend on θ. Summed over cells: Σ_j C[v, j]·log1p(j/θ_v) −
        Σ_g (θ·n_g + Y_g)·log1p(μ_g/θ). No cancellation between large terms.
        """
        levels = np.arange(self.exceedances.shape[1])
        rising = (self.exceedances * np.log1p(levels / theta[:, None])).sum(axis=1)
        group_theta = theta[self.area]
        falling = (group_theta * self.bins + self.total) * np.log1p(self.mu / group_theta)
        return rising - np.bincount(self.area, weights=falling, minlength=len(theta))


def fit_dispersion(y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Per-area NB dispersion θ_v by maximum likelihood, ∞ (Poisson) where not overdispersed.

    An area is Poisson when Σ_t (y − μ)² ≤ Σ_t μ (the residual variance does not exceed
    the mean). Elsewhere θ_v maximises Σ_t log NB(y; μ, θ) over log θ in
    ``THETA_BOUNDS`` by golden-section search, all areas at once (the likelihood is
    evaluated on the cells grouped by (area, μ), see :class:`_DispersionCells`).

    Args:
        y: (N, T) training counts (integers); mu: (N, T) the model's means there (> 0).
    Returns:
        (N,) θ, ``np.inf`` for the Poisson areas.
    """
    y, mu = np.asarray(y, np.int64), np.asarray(mu, np.float64)
    cells = _DispersionCells.of(y, mu)
    lo, hi = np.full(len(y), np.log(THETA_BOUNDS[0])), np.full(len(y), np.log(THETA_BOUNDS[1]))
    ratio = (np.sqrt(5.0) - 1) / 2
    left, right = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    f_left, f_right = cells.profile(np.exp(left)), cells.profile(np.exp(right))
    for _ in range(_GOLDEN_STEPS):
        keep_left = f_left >= f_right  # the maximum lies in [lo, right]
        hi = np.where(keep_left, right, hi)
        lo = np.where(keep_left, lo, left)
        new_left, new_right = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        moved = np.where(keep_left, new_left, new_right)
        f_moved = cells.profile(np.exp(moved))
        f_left, f_right = (
            np.where(keep_left, f_moved, f_right),
            np.where(keep_left, f_left, f_moved),
        )
        left, right = np.where(keep_left, moved, right), np.where(keep_left, left, moved)
    theta = np.exp((lo + hi) / 2)
    poisson = ((y - mu) ** 2).sum(axis=1) <= mu.sum(axis=1)
    return np.where(poisson, np.inf, theta)


def count_law(mu: np.ndarray, theta: np.ndarray) -> CountDistribution:
    """The (T, N) float64 distribution of means ``mu`` (T, N) and per-area θ (N,):
    Poisson if every θ is ∞, else NB with ∞ replaced by ``POISSON_THETA``."""
    mean = torch.as_tensor(mu, dtype=torch.float64)
    if np.isinf(theta).all():
        return Poisson(mean)
    finite = np.where(np.isinf(theta), POISSON_THETA, theta)
    return NegativeBinomial(mean, torch.as_tensor(finite, dtype=torch.float64).expand_as(mean))


def _train_span(data: ForecastData, first: int = 0) -> tuple[int, int]:
    """Training bins [max(start, first), end); raise if empty."""
    start, end = data.bounds("train")
    start = max(start, first)
    if end <= start:
        raise FaseInputError(
            "split", f"the training split has no bin from {first} on", "use a longer train split"
        )
    return start, end


class HistoricalAverage(Forecaster):
    """Mean count per (area, weekly slot) over training, NB(μ, θ_v) (module docstring)."""

    name = "historical_average"
    family = "baseline"

    def __init__(self) -> None:
        self.slot_mean: np.ndarray | None = None  # (N, W) incidents per bin
        self.theta: np.ndarray | None = None  # (N,)

    def fit(self, data: ForecastData, *, seed: int, out_dir: Path | None = None) -> FitReport:
        started = time.perf_counter()
        start, end = _train_span(data)
        n, weeks = data.num_nodes, data.bins_per_week
        slot = data.season_index()[start:end]
        y = data.y[:, start:end].astype(np.float64)
        cells = (np.arange(n)[:, None] * weeks + slot[None, :]).ravel()
        totals = np.bincount(cells, weights=y.ravel(), minlength=n * weeks).reshape(n, weeks)
        bins = np.bincount(slot, minlength=weeks)
        area_mean = floored_mean(y.sum(axis=1), end - start)[:, None]
        self.slot_mean = np.where(bins > 0, floored_mean(totals, np.maximum(bins, 1)), area_mean)
        self.theta = fit_dispersion(y, self.slot_mean[:, slot])
        return FitReport(
            seconds=time.perf_counter() - started,
            notes={"poisson_areas": int(np.isinf(self.theta).sum())},
        )

    def predict(self, data: ForecastData, start: int, end: int) -> CountDistribution:
        if self.slot_mean is None or self.theta is None:
            raise RuntimeError(f"{self.name}: call fit() before predict()")
        check_span(data, start, end, len(self.slot_mean))
        mu = self.slot_mean[:, data.season_index()[start:end]]
        return count_law(mu.T, self.theta)

    @property
    def num_parameters(self) -> int:
        return 0 if self.slot_mean is None else self.slot_mean.size + len(self.slot_mean)


class SeasonalNaive(Forecaster):
    """The true count a week earlier (a zero replaced by a fitted rate), NB(μ, θ_v)."""

    name = "seasonal_naive"
    family = "baseline"

    def __init__(self) -> None:
        self.zero_rate: np.ndarray | None = None  # (N,) f_v, mean after a week-old zero
        self.area_mean: np.ndarray | None = None  # (N,) training mean, for t < W
        self.theta: np.ndarray | None = None  # (N,)

    def _mean(self, data: ForecastData, start: int, end: int) -> np.ndarray:
        """(N, end − start) μ of bins [start, end) from y[:, t − W]."""
        if self.zero_rate is None or self.area_mean is None:
            raise RuntimeError(f"{self.name}: call fit() before predict()")
        weeks = data.bins_per_week
        mu = np.repeat(self.area_mean[:, None], end - start, axis=1)
        first = max(start, weeks)
        if first < end:
            week_ago = data.y[:, first - weeks : end - weeks].astype(np.float64)
            mu[:, first - start :] = np.where(week_ago > 0, week_ago, self.zero_rate[:, None])
        return mu

    def fit(self, data: ForecastData, *, seed: int, out_dir: Path | None = None) -> FitReport:
        started = time.perf_counter()
        weeks = data.bins_per_week
        start, end = _train_span(data, first=weeks)
        y = data.y[:, start:end].astype(np.float64)
        after_zero = data.y[:, start - weeks : end - weeks] == 0
        self.area_mean = floored_mean(y.sum(axis=1), end - start)
        zero_bins = after_zero.sum(axis=1)
        self.zero_rate = np.where(
            zero_bins > 0,
            floored_mean((y * after_zero).sum(axis=1), np.maximum(zero_bins, 1)),
            self.area_mean,
        )
        self.theta = fit_dispersion(y, self._mean(data, start, end))
        return FitReport(
            seconds=time.perf_counter() - started,
            notes={"poisson_areas": int(np.isinf(self.theta).sum())},
        )

    def predict(self, data: ForecastData, start: int, end: int) -> CountDistribution:
        if self.theta is None:
            raise RuntimeError(f"{self.name}: call fit() before predict()")
        check_span(data, start, end, len(self.theta))
        return count_law(self._mean(data, start, end).T, self.theta)

    @property
    def num_parameters(self) -> int:
        return 0 if self.theta is None else 3 * len(self.theta)


def fit_poisson_glm(
    x: np.ndarray, y: np.ndarray, l2: float, max_iter: int = 50
) -> tuple[float, np.ndarray, int]:
    """Penalised Poisson MLE of log μ = b + w·x by Newton's method (IRLS).

    Minimises f(b, w) = mean_i [μ_i − y_i·log μ_i] + l2/2·|w|² (the Poisson NLL without
    log y!, per cell; b is not penalised), which is convex. From b = log ȳ (ȳ floored at
    0.5/M), w = 0, each step solves H·d = −∇f with H = Zᵀ diag(μ) Z / M + l2·diag(0, 1…1),
    Z = [1, x], halving d until f decreases; it stops when |∇f|∞ < 1e-10.

    Args:
        x: (M, F) features; y: (M,) counts; l2: penalty ≥ 0; max_iter: Newton steps at most.
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


class PoissonGLM(Forecaster):
    """log μ = b + w·x on the F scaled features: :func:`fit_poisson_glm` on the training
    cells (all areas and bins pooled), Poisson(μ)."""

    name = "poisson_glm"
    family = "baseline"

    def __init__(self, l2: float = 1e-4) -> None:
        self.l2 = l2
        self.intercept: float | None = None
        self.weights: np.ndarray | None = None  # (F,)

    def fit(self, data: ForecastData, *, seed: int, out_dir: Path | None = None) -> FitReport:
        started = time.perf_counter()
        start, end = _train_span(data)
        x = data.x[:, start:end].reshape(-1, data.num_features)
        y = data.y[:, start:end].reshape(-1)
        self.intercept, self.weights, steps = fit_poisson_glm(x, y, self.l2)
        return FitReport(seconds=time.perf_counter() - started, notes={"newton_steps": steps})

    def predict(self, data: ForecastData, start: int, end: int) -> CountDistribution:
        if self.intercept is None or self.weights is None:
            raise RuntimeError(f"{self.name}: call fit() before predict()")
        check_span(data, start, end, data.num_nodes)
        if data.num_features != len(self.weights):
            raise FaseInputError(
                "data", f"has {data.num_features} features, the model {len(self.weights)}"
            )
        x = data.x[:, start:end].astype(np.float64)
        mu = np.exp(self.intercept + x @ self.weights)  # (N, T)
        return Poisson(torch.as_tensor(mu.T.copy(), dtype=torch.float64))

    @property
    def num_parameters(self) -> int:
        return 0 if self.weights is None else len(self.weights) + 1


@register("historical_average")
def _historical_average(settings: ZooSettings) -> Forecaster:
    return HistoricalAverage()


@register("seasonal_naive")
def _seasonal_naive(settings: ZooSettings) -> Forecaster:
    return SeasonalNaive()


@register("poisson_glm")
def _poisson_glm(settings: ZooSettings) -> Forecaster:
    return PoissonGLM()
