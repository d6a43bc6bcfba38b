"""The statistical models behind the deployment half of the interface: a forecast of a
request equals ``predict`` on the same bins, retraining refits on the training and the
request's target bins (hand-computed), and ``state``/``restore`` round-trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.forecasters.synthetic import make_data, spillover_city

from fase.forecasters import ForecastData, ForecastRequest, TrainingRequest
from fase.forecasters.baselines import HistoricalAverage, SeasonalNaive
from fase.forecasters.glm import PoissonGLM, fit_poisson_glm
from fase.forecasters.hawkes import HawkesMLE
from fase.forecasters.statistical import StatisticalForecaster

# Two areas, three weeks of daily bins (Monday first); train = weeks 1–2.
WEEK_1 = [[1, 0, 2, 0, 3, 1, 0], [0, 6, 0, 0, 5, 0, 0]]
WEEK_2 = [[3, 0, 0, 2, 1, 1, 0], [4, 0, 0, 7, 0, 0, 1]]
WEEK_3 = [[2, 1, 0, 0, 4, 0, 1], [1, 2, 0, 9, 0, 3, 0]]
HAND_SPLIT = {"train": (0, 14), "val": (14, 17), "test": (17, 21)}
MODELS = (HistoricalAverage, SeasonalNaive, PoissonGLM, HawkesMLE)


@pytest.fixture(scope="module")
def city() -> ForecastData:
    return spillover_city(n=4, steps=1200)


def forecast_request(
    data: ForecastData, model: StatisticalForecaster, start: int, stop: int
) -> ForecastRequest:
    """The request the simulator would send for bins [start, stop) of ``data``."""
    first = max(0, start - model.warmup_steps - model.history_steps)
    return ForecastRequest(
        first,
        data.x[:, first:stop],
        data.y[:, first:stop].astype(float),
        start,
        stop,
        model.warmup_steps,
        data.local_hour_of_week[first:stop],
    )


def week_3_request(data: ForecastData) -> TrainingRequest:
    """Retrain on week 3 (one window of 7 days) with week 2 before it as history."""
    return TrainingRequest(
        offset=7,
        x=data.x[:, 7:21],
        counts=data.y[:, 7:21].astype(float),
        starts=np.array([14]),
        window=7,
        epochs=1,
        batch_size=1,
        hour_of_week=data.local_hour_of_week[7:21],
    )


@pytest.mark.parametrize("model_class", MODELS)
def test_a_request_is_forecast_as_predict_forecasts_the_data(city, model_class) -> None:
    model = model_class()
    model.fit(city, seed=0)
    start, end = city.bounds("test")
    span = model.forecast(forecast_request(city, model, start, end))
    assert (span.start, span.end) == (start, end)
    predicted = model.predict(city, start, end)
    # exact, except the Hawkes excitation of counts older than its history (≤ 1e-6)
    tolerance = 1e-6 if model_class is HawkesMLE else 1e-12
    np.testing.assert_allclose(span.expected, predicted.mean.numpy(), rtol=tolerance)


@pytest.mark.parametrize("model_class", MODELS)
def test_state_and_restore_round_trip(city, model_class) -> None:
    model = model_class()
    model.fit(city, seed=0)
    restored = model_class()
    restored.restore(city, model.state())
    start, end = city.bounds("test")
    np.testing.assert_array_equal(
        restored.predict(city, start, end).mean.numpy(),
        model.predict(city, start, end).mean.numpy(),
    )
    assert restored.num_parameters == model.num_parameters


def test_historical_average_retrains_on_the_three_weeks() -> None:
    data = make_data(np.hstack([WEEK_1, WEEK_2, WEEK_3]), HAND_SPLIT)
    model = HistoricalAverage()
    model.fit(data, seed=0)
    theta = model.theta.copy()
    assert model.retrain(week_3_request(data)) == []
    weeks = np.stack([WEEK_1, WEEK_2, WEEK_3]).astype(float)  # (3, N, 7)
    means = np.maximum(weeks.sum(axis=0), 0.5) / 3  # an all-zero slot: 0.5 / 3 bins
    np.testing.assert_allclose(model.slot_mean, means, rtol=1e-12)
    np.testing.assert_array_equal(model.theta, theta)  # θ stays as fitted


def test_seasonal_naive_retrains_its_rates_on_the_three_weeks() -> None:
    data = make_data(np.hstack([WEEK_1, WEEK_2, WEEK_3]), HAND_SPLIT)
    model = SeasonalNaive()
    model.fit(data, seed=0)
    model.retrain(week_3_request(data))
    # Area 0. Training bins from W on (week 2) after a zero in week 1 (days 1, 3, 6):
    # 0 + 2 + 0 = 2 incidents in 3 bins; week 3 after a zero in week 2 (days 1, 2, 6):
    # 1 + 0 + 1 = 2 in 3. Area mean: weeks 2 and 3, 7 + 8 = 15 incidents in 14 bins.
    assert model.zero_rate[0] == pytest.approx(4 / 6)
    assert model.area_mean[0] == pytest.approx(15 / 14)
    # Area 1: after week-1 zeros (days 0, 2, 3, 5, 6) week 2 has 4+0+7+0+1 = 12 in 5;
    # after week-2 zeros (days 1, 2, 4, 5) week 3 has 2+0+0+3 = 5 in 4.
    assert model.zero_rate[1] == pytest.approx(17 / 9)
    assert model.area_mean[1] == pytest.approx((12 + 15) / 14)


def test_poisson_glm_retrains_to_the_optimum_of_all_its_cells() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 21, 2))
    y = rng.poisson(np.exp(0.2 + x @ np.array([0.5, -0.3])))
    data = make_data(y, HAND_SPLIT, x=x)
    model = PoissonGLM()
    model.fit(data, seed=0)
    model.retrain(week_3_request(data))
    cells_x = np.concatenate([data.x[:, :14].reshape(-1, 2), data.x[:, 14:21].reshape(-1, 2)])
    cells_y = np.concatenate([y[:, :14].reshape(-1), y[:, 14:21].reshape(-1)])
    intercept, weights, _ = fit_poisson_glm(cells_x, cells_y, model.l2)  # from scratch
    assert model.intercept == pytest.approx(intercept, abs=1e-8)
    np.testing.assert_allclose(model.weights, weights, atol=1e-8)


def test_hawkes_retraining_raises_the_likelihood_of_the_new_bins(city) -> None:
    model = HawkesMLE()
    model.fit(city, seed=0)
    before = model.clone(seed=0)
    start, end = city.bounds("test")
    history = model.history_steps
    request = TrainingRequest(
        offset=start - history,
        x=city.x[:, start - history : end],
        counts=city.y[:, start - history : end].astype(float),
        starts=np.arange(start, end - 24 + 1, 24),
        window=24,
        epochs=1,
        batch_size=1,
        hour_of_week=city.local_hour_of_week[start - history : end],
    )
    model.retrain(request)
    targets = city.y[:, start:end].T
    span = forecast_request(city, model, start, end)

    def log_likelihood(forecaster: HawkesMLE) -> float:
        law = forecaster.forecast(span).to_distribution()
        return float(law.log_prob(torch.as_tensor(targets, dtype=torch.float64)).sum())

    assert log_likelihood(model) > log_likelihood(before)
    assert before.params is not model.params  # the clone kept the fitted parameters
