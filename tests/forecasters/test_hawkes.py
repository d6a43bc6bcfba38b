"""Hawkes-only: the recursion against a direct sum, the exact gradient, planted recovery."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize
from tests.forecasters.synthetic import bumped_forecasts, make_data, ring_graph, spillover_city

from fase.forecasters.baselines import HistoricalAverage
from fase.forecasters.hawkes import (
    HawkesLikelihood,
    HawkesMLE,
    HawkesParams,
    decay_state,
    hawkes_rate,
)

RING_MASK = (ring_graph(4).A_geo != 0) | np.eye(4, dtype=bool)


def random_params(rng: np.random.Generator, weeks: int) -> HawkesParams:
    """Positive μ, α on RING_MASK, β = 0.3 and a mean-one season."""
    season = rng.uniform(0.5, 1.5, weeks)
    return HawkesParams(
        mu=rng.uniform(0.2, 1.0, 4),
        alpha=rng.uniform(0.0, 0.4, (4, 4)) * RING_MASK,
        beta=0.3,
        season=season / season.mean(),
        mask=RING_MASK,
    )


def test_rate_equals_the_direct_kernel_sum() -> None:
    rng = np.random.default_rng(0)
    y = rng.poisson(1.0, (4, 40))
    slot = np.arange(40) % 7
    params = random_params(rng, 7)
    expected = np.zeros((4, 40))
    for v in range(4):
        for t in range(40):
            lags = np.arange(1, t + 1)
            kernel = params.beta * (1 - params.beta) ** (lags - 1)
            excitation = sum(params.alpha[u, v] * kernel @ y[u, t - lags] for u in range(4))
            expected[v, t] = params.mu[v] * params.season[slot[t]] + excitation
    np.testing.assert_allclose(hawkes_rate(params, y, slot, 0), expected, rtol=1e-12)
    np.testing.assert_allclose(hawkes_rate(params, y, slot, 25), expected[:, 25:], rtol=1e-12)
    np.testing.assert_array_equal(decay_state(y, 1.0)[:, 1:], y[:, :-1])  # β = 1: lag 1 only


def test_likelihood_value_and_gradient_are_exact() -> None:
    rng = np.random.default_rng(1)
    y = rng.poisson(0.7, (4, 300))
    slot = np.arange(300) % 7
    edges = np.stack(np.nonzero(RING_MASK))
    likelihood = HawkesLikelihood(y, slot, 7, 20, edges)
    flat = np.concatenate(
        [rng.uniform(0.2, 1, 4), rng.uniform(0, 0.5, edges.shape[1]), [0.3], rng.normal(0, 0.3, 7)]
    )
    value, gradient = likelihood(flat)
    rate = hawkes_rate(likelihood.params(flat, RING_MASK), y, slot, 20)
    assert value == pytest.approx((rate - y[:, 20:] * np.log(rate)).mean(), rel=1e-12)
    numeric = optimize.approx_fprime(flat, lambda f: likelihood(f)[0], 1e-7)
    np.testing.assert_allclose(gradient, numeric, atol=2e-6)


def simulate_hawkes(params: HawkesParams, slot: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(N, T) counts of the model, by the recursion R(t) = y(t−1) + (1−β)·R(t−1)."""
    y = np.zeros((len(params.mu), len(slot)), np.int64)
    state = np.zeros(len(params.mu))
    for t in range(len(slot)):
        if t > 0:
            state = y[:, t - 1] + (1 - params.beta) * state
        rate = params.mu * params.season[slot[t]] + params.beta * params.alpha.T @ state
        y[:, t] = rng.poisson(rate)
    return y


def test_fit_recovers_planted_parameters() -> None:
    alpha = 0.2 * np.eye(4) + 0.3 * np.roll(np.eye(4), 1, axis=1)  # self 0.2, u → u+1 0.3
    season = np.array([1.3, 1.1, 0.9, 0.8, 0.7, 1.0, 1.2])
    truth = HawkesParams(np.array([0.5, 1.0, 0.8, 0.3]), alpha, 0.3, season, RING_MASK)
    steps = 8000
    y = simulate_hawkes(truth, np.arange(steps) % 7, np.random.default_rng(7))
    data = make_data(y, {"train": (0, 7000), "val": (7000, 7500), "test": (7500, steps)})
    model = HawkesMLE()
    report = model.fit(data, seed=0)
    fitted = model.params
    assert fitted.beta == pytest.approx(0.3, rel=0.15)
    np.testing.assert_allclose(fitted.mu, truth.mu, rtol=0.15)
    np.testing.assert_allclose(fitted.alpha, alpha, atol=0.06)  # u → u−1 is planted at 0
    np.testing.assert_allclose(fitted.season, season, atol=0.08)
    assert fitted.season.mean() == pytest.approx(1.0)
    assert report.notes["branching_ratio"] == pytest.approx(0.5, abs=0.08)
    assert model.num_parameters == 4 + 12 + 1 + 6


def test_beats_the_historical_average_on_planted_spillover() -> None:
    data = spillover_city()
    hawkes, average = HawkesMLE(), HistoricalAverage()
    hawkes.fit(data, seed=0)
    average.fit(data, seed=0)
    assert hawkes.evaluate(data)["nll"] < average.evaluate(data)["nll"] - 0.2
    # It finds the planted ring u → u + 1 with rate 0.8 at lag 1.
    assert hawkes.params.beta == pytest.approx(1.0, abs=0.05)
    np.testing.assert_allclose(np.diag(np.roll(hawkes.params.alpha, -1, axis=1)), 0.8, atol=0.1)


def test_prediction_for_bin_t_ignores_y_t() -> None:
    before, after, t = bumped_forecasts(HawkesMLE())
    np.testing.assert_array_equal(after[: t + 1], before[: t + 1])
    assert (after[t + 1] > before[t + 1]).all()
