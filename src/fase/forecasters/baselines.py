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

import copy
import time
from abc import abstractmethod
from dataclasses import dataclass
from typing import Self

import numpy as np
import torch

from fase.errors import FaseInputError
from fase.forecasters.base import (
    FitReport,
    Forecaster,
    ForecastRequest,
    TrainingRequest,
)
from fase.forecasters.data import ForecastData
from fase.forecasters.registry import ForecasterSettings, register
from fase.models.distributions import CountDistribution, NegativeBinomial, Poisson
from fase.training.forecast import SpanForecast

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


def _request_calendar(hour_of_week: np.ndarray | None, model: str) -> np.ndarray:
    if hour_of_week is None:
        raise ValueError(f"{model} needs the request's hour_of_week (its weekly season)")
    return np.asarray(hour_of_week, np.int64)


def target_columns(request: TrainingRequest) -> tuple[int, int]:
    """Columns [lo, hi) of the request's arrays that hold its target bins (contiguous,
    non-overlapping windows, as the simulator sends them)."""
    lo = int(request.starts.min()) - request.offset
    return lo, int(request.starts.max()) - request.offset + request.window


class StatisticalForecaster(Forecaster):
    """A model fitted in closed form or by a deterministic optimiser (no seed, no
    network): forecasts read the request's counts or calendar, retraining refits on the
    training split together with the request's target bins, and a clone shares the
    (never modified) training arrays."""

    family = "baseline"

    def __init__(self) -> None:
        self.hours_per_bin = 1  # bins of the weekly season: hour_of_week // hours_per_bin

    @property
    def history_steps(self) -> int:
        return 0

    @property
    def warmup_steps(self) -> int:
        return 0

    def season_slots(self, hour_of_week: np.ndarray | None) -> np.ndarray:
        """Weekly slot 0 … W − 1 of each bin from its local hour of the week."""
        return _request_calendar(hour_of_week, self.name) // self.hours_per_bin

    def remember(self, data: ForecastData) -> None:
        """Keep what retraining needs of ``data`` (the calendar; subclasses add more)."""
        self.hours_per_bin = 24 // data.bins_per_day

    def clone(self, seed: int, device: str | torch.device | None = None) -> Self:
        """A copy (deterministic: ``seed`` and ``device`` are not used)."""
        return copy.copy(self)

    def forecast(self, request: ForecastRequest) -> SpanForecast:
        law = self.law(request)
        return SpanForecast.of_distribution(request.start, request.stop, law)

    @abstractmethod
    def law(self, request: ForecastRequest) -> CountDistribution:
        """The (stop − start, N) distribution of the request's bins."""


class HistoricalAverage(StatisticalForecaster):
    """Mean count per (area, weekly slot) over training, NB(μ, θ_v) (module docstring).

    Retraining adds the request's target bins to the training bins of each slot; θ stays
    as fitted on the training counts (deployed records may be fractional).
    """

    name = "historical_average"

    def __init__(self) -> None:
        super().__init__()
        self.slot_mean: np.ndarray | None = None  # (N, W) incidents per bin
        self.theta: np.ndarray | None = None  # (N,)
        self._train_totals: np.ndarray | None = None  # (N, W) training incidents per slot
        self._train_bins: np.ndarray | None = None  # (W,) training bins per slot
        self._area_totals: np.ndarray | None = None  # (N,) training incidents

    def remember(self, data: ForecastData) -> None:
        super().remember(data)
        start, end = _train_span(data)
        slot = data.season_index()[start:end]
        y = data.y[:, start:end].astype(np.float64)
        self._train_totals, self._train_bins = _slot_totals(y, slot, data.bins_per_week)
        self._area_totals = y.sum(axis=1)

    def _means(self, totals: np.ndarray, bins: np.ndarray, area_totals: np.ndarray) -> np.ndarray:
        """(N, W) slot means, the area mean where a slot has no bin (floored)."""
        area_mean = floored_mean(area_totals, int(bins.sum()))[:, None]
        return np.where(bins > 0, floored_mean(totals, np.maximum(bins, 1)), area_mean)

    def fit(self, data: ForecastData, *, seed: int, **_: object) -> FitReport:
        started = time.perf_counter()
        self.remember(data)
        assert self._train_totals is not None and self._train_bins is not None
        self.slot_mean = self._means(self._train_totals, self._train_bins, self._area_totals)
        start, end = _train_span(data)
        slot = data.season_index()[start:end]
        self.theta = fit_dispersion(data.y[:, start:end], self.slot_mean[:, slot])
        return FitReport(
            seconds=time.perf_counter() - started,
            notes={"poisson_areas": int(np.isinf(self.theta).sum())},
        )

    def predict(self, data: ForecastData, start: int, end: int) -> CountDistribution:
        self.require_fitted(self.slot_mean is not None and self.theta is not None)
        check_span(data, start, end, len(self.slot_mean))
        mu = self.slot_mean[:, data.season_index()[start:end]]
        return count_law(mu.T, self.theta)

    def law(self, request: ForecastRequest) -> CountDistribution:
        self.require_fitted(self.slot_mean is not None and self.theta is not None)
        slots = self.season_slots(request.hour_of_week)
        mu = self.slot_mean[:, slots[request.columns]]
        return count_law(mu.T, self.theta)

    def retrain(self, request: TrainingRequest) -> list[float]:
        """Slot means over the training bins and the request's target bins."""
        self.require_fitted(self._train_totals is not None and self._train_bins is not None)
        if request.epochs == 0 or request.starts.size == 0:
            return []
        lo, hi = target_columns(request)
        weeks = self._train_bins.size
        slots = self.season_slots(request.hour_of_week)[lo:hi]
        y = np.asarray(request.counts[:, lo:hi], np.float64)
        totals, bins = _slot_totals(y, slots, weeks)
        self.slot_mean = self._means(
            self._train_totals + totals, self._train_bins + bins, self._area_totals + y.sum(axis=1)
        )
        return []

    def state(self) -> dict[str, np.ndarray]:
        self.require_fitted(self.slot_mean is not None and self.theta is not None)
        return {"slot_mean": self.slot_mean, "theta": self.theta}

    def restore(self, data: ForecastData, state: dict[str, np.ndarray]) -> None:
        self.remember(data)
        self.slot_mean, self.theta = state["slot_mean"], state["theta"]

    @property
    def num_parameters(self) -> int:
        return 0 if self.slot_mean is None else self.slot_mean.size + len(self.slot_mean)


def _slot_totals(y: np.ndarray, slot: np.ndarray, weeks: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, W) incidents per (area, slot) of y (N, T) and (W,) bins per slot."""
    n = len(y)
    cells = (np.arange(n)[:, None] * weeks + slot[None, :]).ravel()
    totals = np.bincount(cells, weights=y.ravel(), minlength=n * weeks).reshape(n, weeks)
    return totals, np.bincount(slot, minlength=weeks)


class SeasonalNaive(StatisticalForecaster):
    """The count a week earlier (a zero replaced by a fitted rate), NB(μ, θ_v).

    Reads W = a week of counts before each forecast bin (``history_steps``). Retraining
    re-estimates f_v and the area mean over the training bins and the request's target
    bins; θ stays as fitted on the training counts.
    """

    name = "seasonal_naive"

    def __init__(self) -> None:
        super().__init__()
        self.weeks = 168  # W, bins per week (set by fit or restore)
        self.zero_rate: np.ndarray | None = None  # (N,) f_v, mean after a week-old zero
        self.area_mean: np.ndarray | None = None  # (N,) training mean, for t < W
        self.theta: np.ndarray | None = None  # (N,)
        self._train_sums: tuple[np.ndarray, ...] | None = None

    @property
    def history_steps(self) -> int:
        return self.weeks

    def remember(self, data: ForecastData) -> None:
        super().remember(data)
        self.weeks = data.bins_per_week
        start, end = _train_span(data, first=self.weeks)
        self._train_sums = _after_zero_sums(
            data.y[:, start:end].astype(np.float64),
            data.y[:, start - self.weeks : end - self.weeks],
        )

    def _mean(self, counts: np.ndarray, offset: int, start: int, end: int) -> np.ndarray:
        """(N, end − start) μ of bins [start, end) from ``counts`` (N, ·) whose column 0
        is bin ``offset``: the count a week earlier, f_v for a zero, the area mean for
        bins without a week-old count."""
        self.require_fitted(self.zero_rate is not None and self.area_mean is not None)
        mu = np.repeat(self.area_mean[:, None], end - start, axis=1)
        first = max(start, offset + self.weeks)
        if first < end:
            week_ago = counts[:, first - self.weeks - offset : end - self.weeks - offset]
            mu[:, first - start :] = np.where(
                week_ago > 0, week_ago.astype(np.float64), self.zero_rate[:, None]
            )
        return mu

    def _rates(self, sums: tuple[np.ndarray, ...]) -> None:
        total, bins, zero_total, zero_bins = sums
        self.area_mean = floored_mean(total, bins)
        self.zero_rate = np.where(
            zero_bins > 0, floored_mean(zero_total, np.maximum(zero_bins, 1)), self.area_mean
        )

    def fit(self, data: ForecastData, *, seed: int, **_: object) -> FitReport:
        started = time.perf_counter()
        self.remember(data)
        assert self._train_sums is not None
        self._rates(self._train_sums)
        start, end = _train_span(data, first=self.weeks)
        mu = self._mean(data.y, 0, start, end)
        self.theta = fit_dispersion(data.y[:, start:end], mu)
        return FitReport(
            seconds=time.perf_counter() - started,
            notes={"poisson_areas": int(np.isinf(self.theta).sum())},
        )

    def predict(self, data: ForecastData, start: int, end: int) -> CountDistribution:
        self.require_fitted(self.theta is not None)
        check_span(data, start, end, len(self.theta))
        return count_law(self._mean(data.y, 0, start, end).T, self.theta)

    def law(self, request: ForecastRequest) -> CountDistribution:
        self.require_fitted(self.theta is not None)
        mu = self._mean(request.counts, request.offset, request.start, request.stop)
        return count_law(mu.T, self.theta)

    def retrain(self, request: TrainingRequest) -> list[float]:
        """f_v and the area mean over the training bins and the request's target bins
        that have a week-old count in the request."""
        self.require_fitted(self._train_sums is not None)
        if request.epochs == 0 or request.starts.size == 0:
            return []
        lo, hi = target_columns(request)
        lo = max(lo, self.weeks)
        if lo < hi:
            counts = np.asarray(request.counts, np.float64)
            added = _after_zero_sums(counts[:, lo:hi], counts[:, lo - self.weeks : hi - self.weeks])
            self._rates(tuple(a + b for a, b in zip(self._train_sums, added, strict=True)))
        return []

    def state(self) -> dict[str, np.ndarray]:
        self.require_fitted(self.theta is not None)
        return {"zero_rate": self.zero_rate, "area_mean": self.area_mean, "theta": self.theta}

    def restore(self, data: ForecastData, state: dict[str, np.ndarray]) -> None:
        self.remember(data)
        self.zero_rate, self.area_mean = state["zero_rate"], state["area_mean"]
        self.theta = state["theta"]

    @property
    def num_parameters(self) -> int:
        return 0 if self.theta is None else 3 * len(self.theta)


def _after_zero_sums(y: np.ndarray, week_ago: np.ndarray) -> tuple[np.ndarray, ...]:
    """Sufficient statistics of the seasonal-naive rates over cells y (N, T) with their
    counts a week earlier: (incidents (N,), bins, incidents after a zero (N,), such bins (N,))."""
    after_zero = week_ago == 0
    return (
        y.sum(axis=1),
        y.shape[1],
        (y * after_zero).sum(axis=1),
        after_zero.sum(axis=1),
    )


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
        start, end = _train_span(data)
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


@register("historical_average")
def _historical_average(settings: ForecasterSettings) -> Forecaster:
    return HistoricalAverage()


@register("seasonal_naive")
def _seasonal_naive(settings: ForecasterSettings) -> Forecaster:
    return SeasonalNaive()


@register("poisson_glm")
def _poisson_glm(settings: ForecasterSettings) -> Forecaster:
    return PoissonGLM()
