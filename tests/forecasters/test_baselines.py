"""Baselines of the model zoo: hand-computed means, dispersion by ML, Poisson GLM fits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import optimize, stats
from tests.forecasters.synthetic import bumped_forecasts, make_data

from fase.errors import FaseInputError
from fase.forecasters.baselines import HistoricalAverage, SeasonalNaive
from fase.forecasters.data import ForecastData
from fase.forecasters.glm import PoissonGLM, fit_poisson_glm
from fase.forecasters.statistical import fit_dispersion

# Two areas, three weeks of daily bins (Monday first); train = weeks 1–2.
WEEK_1 = [[1, 0, 2, 0, 3, 1, 0], [0, 6, 0, 0, 5, 0, 0]]
WEEK_2 = [[3, 0, 0, 2, 1, 1, 0], [4, 0, 0, 7, 0, 0, 1]]
WEEK_3 = [[2, 1, 0, 0, 4, 0, 1], [1, 2, 0, 9, 0, 3, 0]]
HAND_SPLIT = {"train": (0, 14), "val": (14, 17), "test": (17, 21)}


@pytest.fixture
def hand_data() -> ForecastData:
    return make_data(np.hstack([WEEK_1, WEEK_2, WEEK_3]), HAND_SPLIT)


def nb_theta_by_scipy(y: np.ndarray, mu: np.ndarray) -> float:
    """argmax_θ Σ log NB(y; μ, θ) with scipy's nbinom(n=θ, p=θ/(θ+μ)), θ in [1e-2, 1e6]."""

    def nll(log_theta: float) -> float:
        theta = np.exp(log_theta)
        return -stats.nbinom.logpmf(y, theta, theta / (theta + mu)).sum()

    bounds = (np.log(1e-2), np.log(1e6))
    return float(np.exp(optimize.minimize_scalar(nll, bounds=bounds, options={"xatol": 1e-9}).x))


def test_historical_average_is_the_slot_mean_with_ml_dispersion(hand_data: ForecastData) -> None:
    model = HistoricalAverage()
    model.fit(hand_data, seed=0)
    law = model.predict(hand_data, 14, 21)  # week 3, Monday … Sunday
    # Slot means of weeks 1–2; an all-zero slot gets the floor 0.5 / 2 bins = 0.25.
    area_0 = [2.0, 0.25, 1.0, 1.0, 2.0, 1.0, 0.25]
    area_1 = [2.0, 3.0, 0.25, 3.5, 2.5, 0.25, 0.5]
    np.testing.assert_allclose(law.mean.numpy(), np.array([area_0, area_1]).T, rtol=1e-12)
    # Area 0: Σ(y − μ)² = 8.25 ≤ Σμ = 15, Poisson. Area 1: 63.75 > 24, NB with ML θ.
    assert np.isinf(model.theta[0])
    train = np.hstack([WEEK_1, WEEK_2])[1]
    theta = nb_theta_by_scipy(train, np.tile(area_1, 2))
    assert model.theta[1] == pytest.approx(theta, rel=1e-5)
    counts = torch.tensor(np.array(WEEK_3).T, dtype=torch.float64)
    expected = np.column_stack(
        [
            stats.poisson.logpmf(WEEK_3[0], area_0),
            stats.nbinom.logpmf(WEEK_3[1], theta, theta / (theta + np.array(area_1))),
        ]
    )
    np.testing.assert_allclose(law.log_prob(counts).numpy(), expected, rtol=1e-5)
    assert model.num_parameters == 2 * 7 + 2


def test_historical_average_falls_back_to_the_area_mean_for_unseen_slots() -> None:
    y = np.array([[2, 0, 1, 4, 0, 0, 0, 5, 1, 1]])  # train: 3 days (Mon–Wed) only
    data = make_data(y, {"train": (0, 3), "val": (3, 7), "test": (7, 10)})
    model = HistoricalAverage()
    model.fit(data, seed=0)
    means = model.predict(data, 0, 7).mean.numpy()[:, 0]
    np.testing.assert_allclose(means, [2.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0])  # 0 → 0.5/1


def test_fit_dispersion_matches_scipy_and_the_truth() -> None:
    rng = np.random.default_rng(3)
    mu = rng.choice([0.3, 1.0, 2.5], size=(3, 4000))
    theta = np.array([0.5, 3.0])
    overdispersed = rng.poisson(rng.gamma(theta[:, None], mu[:2] / theta[:, None]))
    y = np.vstack([overdispersed, rng.poisson(mu[2])])
    fitted = fit_dispersion(y, mu)
    for area in range(2):
        assert fitted[area] == pytest.approx(nb_theta_by_scipy(y[area], mu[area]), rel=1e-5)
        assert fitted[area] == pytest.approx(theta[area], rel=0.2)
    assert np.isinf(fitted[2])


def test_seasonal_naive_predicts_last_weeks_count(hand_data: ForecastData) -> None:
    model = SeasonalNaive()
    model.fit(hand_data, seed=0)
    # Zero a week earlier → mean of the training bins after a week-old zero (bins 7–13):
    # area 0 follows zeros on Tue, Thu, Sun with 0, 2, 0 → 2/3; area 1 with 4, 0, 7, 0, 1 → 2.4.
    f_0, f_1 = 2 / 3, 2.4
    expected = np.array([[3, f_0, f_0, 2, 1, 1, f_0], [4, f_1, f_1, 7, f_1, f_1, 1]]).T
    np.testing.assert_allclose(model.predict(hand_data, 14, 21).mean.numpy(), expected)
    # No week-old count before bin 7: the training mean of bins 7–13 (7/7 and 12/7).
    first_week = model.predict(hand_data, 0, 7).mean.numpy()
    np.testing.assert_allclose(first_week, np.tile([1.0, 12 / 7], (7, 1)))
    assert np.isfinite(model.evaluate(hand_data, "test")["nll"])


def test_seasonal_naive_needs_a_week_of_training() -> None:
    data = make_data(np.ones((2, 20)), {"train": (0, 7), "val": (7, 14), "test": (14, 20)})
    with pytest.raises(FaseInputError, match="training split"):
        SeasonalNaive().fit(data, seed=0)


def glm_data(steps: int, intercept: float, weights: np.ndarray, seed: int) -> ForecastData:
    """Four areas, x ~ N(0, 1) (float32), y ~ Poisson(exp(b + w·x)); 70/15/15 split."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, steps, len(weights))).astype(np.float32)
    y = rng.poisson(np.exp(intercept + x.astype(np.float64) @ weights))
    split = {"train": (0, int(0.7 * steps)), "val": (int(0.7 * steps), int(0.85 * steps))}
    split["test"] = (int(0.85 * steps), steps)
    return make_data(y, split, bins_per_day=24, x=x)


def test_poisson_glm_recovers_planted_coefficients_and_matches_scipy() -> None:
    truth = np.array([0.5, -0.3, 0.2])
    data = glm_data(4000, -0.5, truth, seed=1)
    model = PoissonGLM()
    model.fit(data, seed=0)
    assert model.intercept == pytest.approx(-0.5, abs=0.05)
    np.testing.assert_allclose(model.weights, truth, atol=0.05)
    # An independent fit of the same penalised objective: scipy BFGS, analytic gradient.
    start, end = data.bounds("train")
    x = data.x[:, start:end].reshape(-1, 3).astype(np.float64)
    y = data.y[:, start:end].reshape(-1).astype(np.float64)
    design = np.column_stack([np.ones(len(x)), x])

    def objective(coef: np.ndarray) -> tuple[float, np.ndarray]:
        eta = design @ coef
        value = np.mean(np.exp(eta) - y * eta) + 0.5 * model.l2 * (coef[1:] ** 2).sum()
        grad = design.T @ (np.exp(eta) - y) / len(y) + model.l2 * np.r_[0.0, coef[1:]]
        return value, grad

    reference = optimize.minimize(objective, np.zeros(4), jac=True, method="BFGS", tol=1e-12).x
    np.testing.assert_allclose([model.intercept, *model.weights], reference, atol=1e-6)
    law = model.predict(data, *data.bounds("test"))
    x_test = data.x[:, slice(*data.bounds("test"))].astype(np.float64)
    np.testing.assert_allclose(
        law.mean.numpy(), np.exp(model.intercept + x_test @ model.weights).T, rtol=1e-12
    )
    assert model.num_parameters == 4


def test_poisson_glm_intercept_only_is_the_log_mean() -> None:
    y = np.random.default_rng(2).poisson(1.7, (3, 500))
    x = np.zeros((3, 500, 2))
    intercept, weights, _ = fit_poisson_glm(x.reshape(-1, 2), y.reshape(-1), l2=1e-4)
    assert np.exp(intercept) == pytest.approx(y.mean(), rel=1e-10)
    np.testing.assert_array_equal(weights, 0.0)


@pytest.mark.parametrize("model_class", [HistoricalAverage, SeasonalNaive, PoissonGLM])
def test_prediction_for_bin_t_ignores_y_t(model_class: type) -> None:
    before, after, t = bumped_forecasts(model_class())
    np.testing.assert_array_equal(after[: t + 1], before[: t + 1])
    if model_class is SeasonalNaive:  # it does read the true count a week later
        assert not np.array_equal(after[t + 168], before[t + 168])


def test_predict_checks_its_span_and_fit(hand_data: ForecastData) -> None:
    with pytest.raises(RuntimeError, match="fit"):
        HistoricalAverage().predict(hand_data, 14, 21)
    model = HistoricalAverage()
    model.fit(hand_data, seed=0)
    with pytest.raises(FaseInputError, match="span"):
        model.predict(hand_data, 14, 22)
