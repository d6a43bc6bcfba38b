"""What the statistical models share: a closed-form or deterministic fit (no seed, no
network), the negative-binomial dispersion θ by maximum likelihood, and the deployment
half of the forecaster interface (forecasts that read a request's counts or calendar,
retraining that refits on the training split plus the request's target bins).

Notation: y (N, T) counts, W the bins of a week (168 hourly, 7 daily), c(t) =
``ForecastData.season_index()[t]`` the bin's slot of the weekly season.
"""

from __future__ import annotations

import copy
from abc import abstractmethod
from dataclasses import dataclass
from typing import Self

import numpy as np
import torch

from fase.errors import FaseInputError
from fase.forecasters.base import Forecaster, ForecastRequest, TrainingRequest
from fase.forecasters.data import ForecastData
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


def train_span(data: ForecastData, first: int = 0) -> tuple[int, int]:
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
