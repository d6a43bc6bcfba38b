"""Hawkes-only: a discrete-time multivariate Hawkes process fitted by maximum likelihood.

The FASE paper's "Hawkes-only" ablation, without any network. For areas v, bins t and
the weekly slot c(t) (``ForecastData.season_index()``)::

    y_v(t) ~ Poisson(λ_v(t)),
    λ_v(t) = μ_v · s_c(t) + Σ_u α_uv · Σ_{k≥1} β(1 − β)^{k−1} · y_u(t − k)
           = μ_v · s_c(t) + β · Σ_u α_uv · R_u(t),
    R_u(t) = y_u(t − 1) + (1 − β) · R_u(t − 1),   R_u(0) = 0,

with u over v itself and its A_geo neighbours (mask A_geo + I; α_uv = 0 elsewhere).
The kernel g(k) = β(1 − β)^{k−1} (k ≥ 1 bins) sums to 1, so α_uv is the expected number
of incidents in v triggered by one in u (a branching ratio) and 1/β the mean delay in
bins. The weekly season s (W slots, mean 1: s = W · softmax(γ)) is always on: crime has
a strong hour-of-week profile that the excitation should not have to explain.

Fit: μ ≥ 1e-8, α ≥ 0 (edges of the mask), β ∈ [1e-4, 1] and γ maximise the exact
Poisson log-likelihood of the training bins, Σ_{v,t} [y·log λ − λ − log y!], by scipy's
L-BFGS-B under those bounds (bounds rather than softplus, so that α_uv = 0 — common for
neighbour pairs — is reached exactly), on variables scaled by the inverse square root of
the Fisher information's diagonal at the start (this cuts the iterations ~10×). R is the
recursion above (``scipy.signal.lfilter``, O(N·T)); ∂R/∂β obeys the same recursion,
∂R(t)/∂β = −[R(t − 1) + (1 − β)·∂R(t − 1)/∂β]. Σ λ is linear in the parameters, so
λ itself is needed only on the cells with y > 0 (see :class:`HawkesLikelihood`). The
history is empty before bin 0. Deterministic: no random initialisation.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import minimize
from scipy.signal import lfilter
from scipy.special import softmax

from fase.forecasters.base import FitReport, Forecaster, ForecastRequest, TrainingRequest
from fase.forecasters.data import ForecastData
from fase.forecasters.registry import ForecasterSettings, register
from fase.forecasters.statistical import (
    StatisticalForecaster,
    check_span,
    floored_mean,
    target_columns,
)
from fase.models.distributions import CountDistribution, Poisson

MU_MIN = 1e-8
BETA_BOUNDS = (1e-4, 1.0)
HISTORY_TOLERANCE = 1e-6  # excitation share a request's truncated history may drop
HISTORY_WEEKS = 8  # the longest count history a request carries, in weeks


@dataclass(frozen=True)
class HawkesParams:
    """Hawkes parameters.

    Attributes:
        mu: (N,) background rate per area (incidents per bin at a slot with s = 1).
        alpha: (N, N) branching ratios α[u, v], source u → target v, zero off the mask.
        beta: kernel parameter in (0, 1]: g(k) = β(1 − β)^{k−1}, mean delay 1/β bins.
        season: (W,) weekly profile, mean 1.
        mask: (N, N) bool, where α may be non-zero (A_geo + I).
    """

    mu: np.ndarray
    alpha: np.ndarray
    beta: float
    season: np.ndarray
    mask: np.ndarray

    @property
    def num_free(self) -> int:
        """Free parameters: N (μ) + mask entries (α) + 1 (β) + W − 1 (season)."""
        return len(self.mu) + int(self.mask.sum()) + 1 + len(self.season) - 1

    @property
    def branching_ratio(self) -> float:
        """Spectral radius of α: the process is stationary when it is below 1."""
        return float(np.abs(np.linalg.eigvals(self.alpha)).max())


def decay_state(y: np.ndarray, beta: float) -> np.ndarray:
    """R (N, T) float64: R(t) = Σ_{k≥1} (1 − β)^{k−1}·y(t − k) = y(t−1) + (1−β)·R(t−1).

    Uses y up to t − 1 only; R(0) = 0.
    """
    return lfilter([0.0, 1.0], [1.0, -(1.0 - beta)], np.asarray(y, np.float64), axis=-1)


def hawkes_rate(params: HawkesParams, y: np.ndarray, slot: np.ndarray, start: int) -> np.ndarray:
    """λ (N, T − start) of bins [start, T) from the counts y (N, T) and slots c (≥ T,)."""
    state = decay_state(y, params.beta)[:, start:]
    background = params.mu[:, None] * params.season[slot[start : y.shape[1]]][None, :]
    return background + params.beta * (params.alpha.T @ state)


class HawkesLikelihood:
    """Mean Poisson NLL per training cell (without log y!) and its exact gradient.

    The flat parameter vector is [μ (N), α on the edges (E), β, γ (W)], scipy's calling
    convention. With M training cells, n_c training bins in slot c and K the cells with
    y > 0 (area v_i, bin t_i, count y_i)::

        M · NLL = Σ_v μ_v · Σ_c n_c s_c + β · Σ_e α_e · Σ_t R_{u(e)}(t) − Σ_i y_i · log λ_i

    λ_i needs R_u(t_i) for each edge e = (u, v_i) into the cell's area: the P "pairs"
    (edge, cell), gathered once; an evaluation costs O(N·T + P).

    Args:
        y: (N, T) counts from bin 0; the likelihood covers bins [start, T).
        slot: (≥ T,) weekly slot of each bin; weeks: W.
        edges: (2, E) source and target areas of the α entries.
    """

    def __init__(
        self, y: np.ndarray, slot: np.ndarray, weeks: int, start: int, edges: np.ndarray
    ) -> None:
        n, steps = y.shape
        self.y, self.start, self.weeks = y, start, weeks
        self.source, self.target = edges
        self.slots = slot[start:steps]
        self.cells = n * (steps - start)
        self.slot_bins = np.bincount(self.slots, minlength=weeks).astype(np.float64)
        area, bin_ = np.nonzero(y[:, start:])  # row-major: cells sorted by area
        self.cell_area, self.cell_slot = area, self.slots[bin_]
        self.cell_count = y[area, start + bin_].astype(np.float64)
        first_cell = np.searchsorted(area, np.arange(n + 1))
        per_edge = np.diff(first_cell)[self.target]
        self.pair_edge = np.repeat(np.arange(len(self.target)), per_edge)
        pair_offset = np.arange(per_edge.sum()) - np.repeat(
            np.cumsum(per_edge) - per_edge, per_edge
        )
        self.pair_cell = first_cell[self.target][self.pair_edge] + pair_offset
        self.pair_state = self.source[self.pair_edge] * steps + start + bin_[self.pair_cell]

    def split(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
        """μ (N,), α on the edges (E,), β, γ (W,)."""
        n, e = len(self.y), len(self.source)
        return flat[:n], flat[n : n + e], float(flat[n + e]), flat[n + e + 1 :]

    def params(self, flat: np.ndarray, mask: np.ndarray) -> HawkesParams:
        """The :class:`HawkesParams` of a flat vector."""
        mu, alpha_edges, beta, gamma = self.split(flat)
        alpha = np.zeros(mask.shape)
        alpha[self.source, self.target] = alpha_edges
        season = self.weeks * softmax(gamma)
        return HawkesParams(mu.copy(), alpha, beta, season, np.asarray(mask, bool))

    def __call__(self, flat: np.ndarray) -> tuple[float, np.ndarray]:
        mu, alpha, beta, gamma = self.split(flat)
        sigma = softmax(gamma)
        season = self.weeks * sigma
        state = decay_state(self.y, beta)
        d_state = -decay_state(state, beta)  # ∂R/∂β
        state_sum = state[:, self.start :].sum(axis=1)[self.source]  # (E,)
        d_state_sum = d_state[:, self.start :].sum(axis=1)[self.source]
        pair_state = state.ravel()[self.pair_state]
        pair_d_state = d_state.ravel()[self.pair_state]
        pair_alpha = alpha[self.pair_edge]
        k = len(self.cell_count)
        excitation = np.bincount(self.pair_cell, pair_alpha * pair_state, minlength=k)
        cell_season = season[self.cell_slot]
        rate = mu[self.cell_area] * cell_season + beta * excitation
        week_mass = self.slot_bins @ season  # Σ_t s_c(t)
        value = mu.sum() * week_mass + beta * alpha @ state_sum
        value -= self.cell_count @ np.log(rate)
        score = -self.cell_count / rate  # ∂(−y·log λ)/∂λ per cell
        pair_score = score[self.pair_cell]
        n = len(mu)
        grad_mu = week_mass + np.bincount(self.cell_area, score * cell_season, minlength=n)
        grad_alpha = beta * (
            state_sum + np.bincount(self.pair_edge, pair_score * pair_state, minlength=len(alpha))
        )
        grad_beta = alpha @ (state_sum + beta * d_state_sum)
        grad_beta += pair_score @ (pair_alpha * (pair_state + beta * pair_d_state))
        background = score * mu[self.cell_area]
        grad_season = self.slot_bins * mu.sum()
        grad_season += np.bincount(self.cell_slot, background, minlength=self.weeks)
        grad_gamma = self.weeks * sigma * (grad_season - sigma @ grad_season)
        gradient = np.concatenate([grad_mu, grad_alpha, [grad_beta], grad_gamma])
        return value / self.cells, gradient / self.cells

    def fisher_diagonal(self, flat: np.ndarray) -> np.ndarray:
        """Diagonal of the Fisher information per cell, Σ (∂λ/∂θ)²/λ / M, at ``flat``
        (for γ_c with ∂s_c/∂γ_c ≈ s_c); dense over all cells, for scaling only."""
        mu, alpha_edges, beta, gamma = self.split(flat)
        alpha = np.zeros((len(mu), len(mu)))
        alpha[self.source, self.target] = alpha_edges
        season = self.weeks * softmax(gamma)[self.slots]
        state = decay_state(self.y, beta)
        d_state = -decay_state(state, beta)[:, self.start :]
        state = state[:, self.start :]
        background = mu[:, None] * season[None, :]
        inverse_rate = 1.0 / (background + beta * alpha.T @ state)
        d_mu = inverse_rate @ season**2
        d_alpha = beta**2 * (state**2 @ inverse_rate.T)[self.source, self.target]
        d_beta = (inverse_rate * (alpha.T @ (state + beta * d_state)) ** 2).sum()
        by_slot = (background**2 * inverse_rate).sum(axis=0)
        d_gamma = np.bincount(self.slots, by_slot, minlength=self.weeks)
        return np.concatenate([d_mu, d_alpha, [d_beta], d_gamma]) / self.cells


@dataclass(frozen=True)
class Segment:
    """A stretch of counts fitted by the likelihood: y (N, T) from its bin 0, the weekly
    slot of each bin (≥ T,), and the first bin ``start`` whose count is a target (the
    bins before it are history only)."""

    y: np.ndarray
    slot: np.ndarray
    start: int


class PooledLikelihood:
    """The mean NLL per target cell over several :class:`HawkesLikelihood` segments
    (each value weighted by its cells); with one segment, that segment's own."""

    def __init__(self, parts: Sequence[HawkesLikelihood]) -> None:
        self.parts = list(parts)
        self.weights = np.array([p.cells for p in self.parts], np.float64)
        self.weights /= self.weights.sum()

    def __call__(self, flat: np.ndarray) -> tuple[float, np.ndarray]:
        if len(self.parts) == 1:
            return self.parts[0](flat)
        values = [part(flat) for part in self.parts]
        value = sum(w * v for w, (v, _) in zip(self.weights, values, strict=True))
        gradient = sum(w * g for w, (_, g) in zip(self.weights, values, strict=True))
        return float(value), np.asarray(gradient)

    def fisher_diagonal(self, flat: np.ndarray) -> np.ndarray:
        if len(self.parts) == 1:
            return self.parts[0].fisher_diagonal(flat)
        return sum(
            w * p.fisher_diagonal(flat) for w, p in zip(self.weights, self.parts, strict=True)
        )


def fit_hawkes(
    segments: Sequence[Segment],
    weeks: int,
    mask: np.ndarray,
    max_iter: int = 1000,
) -> tuple[HawkesParams, dict[str, float | int | str]]:
    """Maximum-likelihood Hawkes parameters on the target bins of ``segments``.

    Initial point: μ_v = half the area's mean count, α = 0.1 on the mask, β = 0.5 and
    s_c ∝ the slot's mean count over all areas (also when refitting: a previous optimum
    can sit on a bound, e.g. a season slot near 0, where a warm start stalls). L-BFGS-B
    stops when an iteration lowers the mean NLL by less than 1e-12 (relative) or the
    projected gradient is below 1e-9 (scaled variables).

    Args:
        segments: counts (integers, or fractional deployed records) with their calendar.
        weeks: W, slots of the weekly season.
        mask: (N, N) binary, mask[u, v] = 1 where u may excite v.
        max_iter: L-BFGS-B iterations at most.
    Returns:
        the parameters and notes (iterations, L-BFGS-B's message, final mean NLL).
    """
    n = len(segments[0].y)
    edges = np.stack(np.nonzero(mask))
    likelihood = PooledLikelihood(
        [HawkesLikelihood(s.y, s.slot, weeks, s.start, edges) for s in segments]
    )
    observed = np.concatenate([s.y[:, s.start :] for s in segments], axis=1).astype(np.float64)
    slots = np.concatenate([s.slot[s.start : s.y.shape[1]] for s in segments])
    slot_total = np.bincount(slots, weights=observed.sum(axis=0), minlength=weeks)
    slot_rate = floored_mean(slot_total, np.maximum(np.bincount(slots, minlength=weeks), 1))
    mu = 0.5 * floored_mean(observed.sum(axis=1), observed.shape[1])
    start = np.concatenate([mu, np.full(edges.shape[1], 0.1), [0.5], np.log(slot_rate)])
    information = likelihood.fisher_diagonal(start)
    scale = np.where(information > 0, 1.0 / np.sqrt(np.maximum(information, 1e-300)), 1.0)
    lower = np.concatenate([np.full(n, MU_MIN), np.zeros(edges.shape[1]), [BETA_BOUNDS[0]]])
    upper = np.concatenate([np.full(n + edges.shape[1], np.inf), [BETA_BOUNDS[1]]])
    bounds = [
        (low / s, None if np.isinf(high) else high / s)
        for low, high, s in zip(lower, upper, scale[: len(lower)], strict=True)
    ] + [(None, None)] * weeks

    def scaled(z: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = likelihood(z * scale)
        return value, gradient * scale

    result = minimize(
        scaled,
        start / scale,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": max_iter, "maxcor": 20, "ftol": 1e-10, "gtol": 1e-9},
    )
    notes: dict[str, float | int | str] = {
        "iterations": int(result.nit),
        "optimizer": str(result.message),
        "train_nll_no_logfact": float(result.fun),
    }
    return likelihood.parts[0].params(result.x * scale, mask), notes


class HawkesMLE(StatisticalForecaster):
    """Hawkes-only (module docstring): Poisson(λ) one step ahead from the counts.

    Forecasts of a request read its counts from ``history_steps`` bins before the span:
    the excitation of older counts is dropped, which changes λ by at most a share
    ``HISTORY_TOLERANCE`` of the excitation (less than a week of bins: the smallest k
    with (1 − β)^k ≤ ``HISTORY_TOLERANCE``, at most ``HISTORY_WEEKS`` weeks). Retraining
    refits by maximum likelihood on the training bins and the request's target bins (a
    second segment, its own history).
    """

    name = "hawkes"

    def __init__(self) -> None:
        super().__init__()
        self.params: HawkesParams | None = None
        self._train: Segment | None = None

    @property
    def history_steps(self) -> int:
        self.require_fitted(self.params is not None)
        weeks = len(self.params.season)
        if self.params.beta >= 1.0:
            return 1
        needed = np.log(HISTORY_TOLERANCE) / np.log1p(-self.params.beta)
        return int(min(np.ceil(needed), HISTORY_WEEKS * weeks))

    def remember(self, data: ForecastData) -> None:
        super().remember(data)
        start, end = data.bounds("train")
        self._train = Segment(data.y[:, :end], data.season_index(), start)
        self._mask = (data.graph.A_geo != 0) | np.eye(data.num_nodes, dtype=bool)

    def fit(self, data: ForecastData, *, seed: int, **_: object) -> FitReport:
        """Fit on the training bins; ``seed`` is unused (the fit is deterministic)."""
        started = time.perf_counter()
        self.remember(data)
        assert self._train is not None
        self.params, notes = fit_hawkes([self._train], data.bins_per_week, self._mask)
        notes.update(
            beta=self.params.beta,
            mean_delay_bins=1.0 / self.params.beta,
            branching_ratio=self.params.branching_ratio,
        )
        return FitReport(seconds=time.perf_counter() - started, notes=notes)

    def predict(self, data: ForecastData, start: int, end: int) -> CountDistribution:
        self.require_fitted(self.params is not None)
        check_span(data, start, end, len(self.params.mu))
        rate = hawkes_rate(self.params, data.y[:, :end], data.season_index(), start)
        return Poisson(torch.as_tensor(rate.T.copy(), dtype=torch.float64))

    def law(self, request: ForecastRequest) -> CountDistribution:
        self.require_fitted(self.params is not None)
        counts = np.asarray(request.counts[:, : request.stop - request.offset], np.float64)
        slots = self.season_slots(request.hour_of_week)
        rate = hawkes_rate(self.params, counts, slots, request.start - request.offset)
        return Poisson(torch.as_tensor(rate.T.copy(), dtype=torch.float64))

    def retrain(self, request: TrainingRequest) -> list[float]:
        self.require_fitted(self.params is not None and self._train is not None)
        if request.epochs == 0 or request.starts.size == 0:
            return []
        lo, hi = target_columns(request)
        deployed = Segment(
            np.asarray(request.counts[:, :hi], np.float64),
            self.season_slots(request.hour_of_week),
            lo,
        )
        self.params, _ = fit_hawkes([self._train, deployed], len(self.params.season), self._mask)
        return []

    def state(self) -> dict[str, np.ndarray]:
        self.require_fitted(self.params is not None)
        p = self.params
        return {"mu": p.mu, "alpha": p.alpha, "beta": np.array([p.beta]), "season": p.season}

    def restore(self, data: ForecastData, state: dict[str, np.ndarray]) -> None:
        self.remember(data)
        self.params = HawkesParams(
            state["mu"], state["alpha"], float(state["beta"][0]), state["season"], self._mask
        )

    @property
    def num_parameters(self) -> int:
        """N (μ) + edges of A_geo + I (α) + 1 (β) + W − 1 (season)."""
        return 0 if self.params is None else self.params.num_free


@register("hawkes")
def _hawkes(settings: ForecasterSettings) -> Forecaster:
    return HawkesMLE()
