"""The study's three networks as zoo forecasters: settings, scoring, forecasts, and the
planted spill-over that only the graph model can read."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from scipy.stats import poisson
from tests.forecasters.synthetic import spillover_city

from fase.config.training import TrainingConfig
from fase.forecasters.base import Forecaster
from fase.forecasters.crimenet import CrimeNetForecaster, make_crimenet
from fase.forecasters.data import ForecastData
from fase.forecasters.dnn import DNNForecaster, make_dnn
from fase.forecasters.gat_tcn import GATTCNForecaster, make_gat_tcn, make_gat_tcn_nb
from fase.forecasters.neural import NeuralForecaster
from fase.forecasters.registry import ForecasterSettings, create
from fase.training.forecast import forecast_span

BASELINES = ("historical_average", "seasonal_naive", "poisson_glm")
GRAPH_MODELS = ("gat_tcn", "gat_tcn_nb", "stgnn")
SHORT = TrainingConfig(
    window=32, stride=8, batch_size=16, epochs=30, early_stopping_patience=None, threads=1
)


def _without_edges(data: ForecastData) -> ForecastData:
    """The same city with no edges: the GAT attends to each area itself only and the
    STGNN's diffusion (A_combined = I) mixes nothing."""
    graph = dataclasses.replace(
        data.graph,
        A_geo=np.zeros_like(data.graph.A_geo),
        A_combined=np.eye(data.num_nodes),
    )
    return dataclasses.replace(data, graph=graph)


@pytest.fixture(scope="module")
def city() -> ForecastData:
    return spillover_city()


@pytest.fixture(scope="module")
def fitted(city: ForecastData) -> dict[str, Forecaster]:
    """The baselines, and each network (quick sizes) trained 30 epochs on the spill-over
    city, seed 0; the graph models also on the city without edges."""
    torch.set_num_threads(1)
    settings = ForecasterSettings(SHORT, quick=True)
    models: dict[str, NeuralForecaster] = {}
    for name in (*BASELINES, "dnn", "crimenet", *GRAPH_MODELS):
        model = create(name, settings)
        model.fit(city, seed=0)
        models[name] = model
    for name in GRAPH_MODELS:
        no_graph = create(name, settings)
        no_graph.fit(_without_edges(city), seed=0)
        models[f"{name}_without_edges"] = no_graph
    return models


def test_factories_use_the_study_settings() -> None:
    settings = ForecasterSettings(SHORT.model_copy(update={"lr": 5e-3}))
    dnn, crimenet, gat = make_dnn(settings), make_crimenet(settings), make_gat_tcn(settings)
    assert isinstance(dnn, DNNForecaster) and isinstance(crimenet, CrimeNetForecaster)
    assert isinstance(gat, GATTCNForecaster)
    for model in (dnn, crimenet):
        assert (model.family, model.objective) == ("neural", "mse")
        assert (model.training.objective, model.training.lr) == ("mse", 1e-3)
    assert (gat.family, gat.objective, gat.training.objective) == ("graph", "mse", "mse")
    assert gat.training.lr == 1e-3
    nb = make_gat_tcn_nb(settings)
    assert (nb.objective, nb.training.objective, nb.distribution) == ("nll", "nll", "nb")
    assert (dnn.hidden, dnn.layers, crimenet.hidden, gat.channels) == (128, 3, 128, 64)
    quick = ForecasterSettings(SHORT, quick=True)
    assert make_dnn(quick).hidden == make_crimenet(quick).hidden == 16
    assert make_gat_tcn(quick).channels == 16


def test_num_parameters_after_fit(fitted: dict[str, Forecaster]) -> None:
    h = 16
    assert fitted["dnn"].num_parameters == 13 * h + h + 2 * (h * h + h) + h + 1
    assert fitted["crimenet"].num_parameters == 4 * h * (15 + h) + 8 * h + h + 1


def test_mse_models_are_scored_with_a_poisson_around_their_mean(
    city: ForecastData, fitted: dict[str, Forecaster]
) -> None:
    start, end = city.bounds("test")
    for name in ("dnn", "crimenet"):
        mean = fitted[name].predict(city, start, end).mean.numpy()  # (T, N)
        expected = -poisson.logpmf(city.y[:, start:end].T, mean).mean()
        assert fitted[name].evaluate(city)["nll"] == pytest.approx(expected, rel=1e-9)


def test_graph_models_read_the_spillover(city: ForecastData, fitted: dict[str, Forecaster]) -> None:
    """Only a neighbour's last count carries the spill-over: each graph model (GAT + TCN,
    and FASE's STGNN without Hawkes) must beat every non-graph model, the historical
    average included, and, by a clear margin, itself trained without the graph's edges
    (the check that fails if the graph is ignored)."""
    nll = {name: model.evaluate(city)["nll"] for name, model in fitted.items()}
    non_graph = min(nll[name] for name in (*BASELINES, "dnn", "crimenet"))
    for name in GRAPH_MODELS:
        assert nll[name] < non_graph, nll
        assert nll[name] < nll[f"{name}_without_edges"] - 0.05, nll


def test_crimenet_forecast_is_stable_in_its_warmup(
    city: ForecastData, fitted: dict[str, Forecaster]
) -> None:
    """Warm-ups of P and W bins give the forecast of an LSTM run from bin 0 to 0.5 %."""
    model = fitted["crimenet"]
    module = model.module
    series = model._series(city)
    start, end = city.bounds("test")
    from_zero = forecast_span(module, series, start, end, warmup=start).expected
    for warmup in (module.history_steps, model.warmup(module)):
        short = forecast_span(module, series, start, end, warmup=warmup, chunk_steps=64).expected
        np.testing.assert_allclose(short, from_zero, rtol=5e-3)
    assert model.warmup(module) == SHORT.window
    cold = forecast_span(module, series, start, end, warmup=0, chunk_steps=64).expected
    assert np.abs(cold / from_zero - 1).max() > 1e-2  # the memory is real: warmup matters


def test_gat_tcn_predict_is_exact_one_step_ahead(
    city: ForecastData, fitted: dict[str, Forecaster]
) -> None:
    model = fitted["gat_tcn_nb"]
    assert model.warmup(model.module) == 15
    start, end = city.bounds("test")
    predicted = model.predict(city, start, end)
    series = model._series(city)
    from_zero = forecast_span(model.module, series, start, end, warmup=start)
    np.testing.assert_allclose(predicted.mu.numpy(), from_zero.params["mu"], rtol=1e-5)
    np.testing.assert_allclose(predicted.theta.numpy(), from_zero.params["theta"], rtol=1e-5)
    later = dataclasses.replace(city, y=city.y.copy())
    later.y[:, start + 10 :] += 3  # counts from bin start + 10 on
    moved = model.predict(later, start, end).mu.numpy() != predicted.mu.numpy()
    assert not moved[:11].any() and moved[11:].any()
