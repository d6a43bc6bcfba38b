"""Any registered model, not only FASE, is trained, allocated on, retrained inside the
feedback simulation and served: the historical average (closed form, recomputed here
with pandas) and the DNN (a network, applied here by hand) on the tiny grid city."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from tests.simulation.trained_run import write_trained_run

from fase.allocation import AllocationConfig
from fase.allocation.policies import make_policy
from fase.config.simulation import SimulationConfig
from fase.data.tensors import Tensors
from fase.forecasters import TrainedRun
from fase.io import read_json
from fase.phases.allocate import run_allocation
from fase.phases.simulate import SimulationRun, forecaster_factory, make_params, run_simulation
from fase.rundir import RunDir
from fase.serve.state import LiveState
from fase.simulation.runner import simulate
from fase.training.forecast import read_forecast

PROPORTIONAL = AllocationConfig(policy="proportional", budget=10.0, epsilon=None)
ONE_DAY = SimulationConfig(
    mode="rolling", cycles=2, period="1d", retrain_epochs=1, retrain_window=6, retrain_batch=4
)
FLOOR = 0.5  # a mean over n bins is at least 0.5 / n


@pytest.fixture(scope="module")
def average_run(tmp_path_factory) -> Path:
    return write_trained_run(tmp_path_factory.mktemp("average"), model="historical_average")


@pytest.fixture(scope="module")
def dnn_run(tmp_path_factory) -> Path:
    return write_trained_run(tmp_path_factory.mktemp("dnn"), model="dnn")


def hour_of_week(tensors: Tensors) -> np.ndarray:
    starts = tensors.starts()
    return (starts.day_of_week * 24 + starts.hour).to_numpy()


def slot_means(counts: np.ndarray, slots: np.ndarray) -> pd.DataFrame:
    """Mean count per (area, hour of the week) by pandas, floored at 0.5 / bins:
    rows are slots, columns areas."""
    frame = pd.DataFrame(counts.T).assign(slot=slots)
    grouped = frame.groupby("slot")
    return grouped.sum().clip(lower=FLOOR).div(grouped.size(), axis=0)


def proportional(risk: np.ndarray, budget: float) -> np.ndarray:
    return budget * risk / risk.sum(axis=1, keepdims=True)


def test_training_writes_the_models_own_forecast(average_run: Path) -> None:
    run = RunDir(average_run)
    assert run.load_config().forecaster == "historical_average"
    info = read_json(run.forecaster_info)
    assert (info["name"], info["family"]) == ("historical_average", "baseline")
    tensors = Tensors.load(run)
    slots = hour_of_week(tensors)
    start, end = tensors.split["train"]
    means = slot_means(tensors.y[:, start:end].astype(float), slots[start:end])
    forecast = read_forecast(run.forecast)
    test_start, test_end = tensors.split["test"]
    assert (forecast.start, forecast.end) == (test_start, test_end)
    expected = means.loc[slots[test_start:test_end]].to_numpy()  # every test slot was seen
    np.testing.assert_allclose(forecast.expected, expected, rtol=1e-12)
    assert forecast.distribution in ("nb", "poisson")


def test_allocation_is_made_on_the_models_forecast(average_run: Path) -> None:
    result = run_allocation(average_run, PROPORTIONAL)
    risk = read_forecast(RunDir(average_run).forecast).expected
    np.testing.assert_allclose(result.patrol, proportional(risk, 10.0), rtol=1e-12)


def test_the_feedback_loop_retrains_the_average_on_what_was_observed(average_run: Path) -> None:
    run = SimulationRun.load(average_run)
    assert run.model == "historical_average"
    allocation = PROPORTIONAL.model_copy(update={"p_base": 0.3, "p_max": 0.9})
    params = make_params(ONE_DAY, allocation, run)
    clones = []

    def replicate(seed: int):
        clones.append(forecaster_factory(run, "cpu")(seed))
        return clones[-1]

    result = simulate(
        params, run.world, replicate, make_policy(allocation), seed=0, keep_outcomes=True
    )
    tensors = run.trained.tensors
    slots = hour_of_week(tensors)
    train_start, train_end = tensors.split["train"]
    counts = tensors.y[:, train_start:train_end].astype(float)
    seen = slots[train_start:train_end]
    for k, outcome in enumerate(result.replicates[0].outcomes):
        deployed = outcome.deployment
        bins = np.arange(deployed.start, deployed.stop)
        # the forecast of cycle k: slot means of the training bins and every period
        # observed before it (cycle 0: the training bins alone)
        expected = slot_means(counts, seen).loc[slots[bins]].to_numpy()
        np.testing.assert_allclose(deployed.forecast.expected, expected, rtol=1e-12)
        np.testing.assert_allclose(deployed.patrol, proportional(expected, 10.0), rtol=1e-12)
        detection = 0.3 + 0.6 * np.clip(deployed.patrol / 10.0, 0, 1)
        np.testing.assert_allclose(deployed.observed, detection * deployed.true, rtol=1e-12)
        row = result.history.iloc[k]
        assert row["forecast_mae_true"] == pytest.approx(
            np.abs(expected - deployed.true).mean(), rel=1e-12
        )
        counts = np.concatenate([counts, deployed.observed.T], axis=1)
        seen = np.concatenate([seen, slots[bins]])
    assert result.replicates[0].outcomes[0].losses == []  # refitted in closed form
    # after the last cycle: every slot's mean over the training and both observed periods
    (retrained,) = clones
    refitted = slot_means(counts, seen)
    np.testing.assert_allclose(retrained.slot_mean[:, refitted.index], refitted.T, rtol=1e-12)
    untouched = run.trained.forecaster.slot_mean[:, refitted.index]
    assert not np.allclose(untouched, refitted.T)  # the run's own model is not the clone


def test_the_service_forecasts_with_the_average(average_run: Path, tmp_path: Path) -> None:
    trained = TrainedRun.load(average_run)
    live = LiveState.open(average_run, tmp_path / "live.sqlite", period="6h")
    try:
        forecast = live.forecast(live.view())
    finally:
        live.close()
    tensors = trained.tensors
    train_start, train_end = tensors.split["train"]
    slots = hour_of_week(tensors)
    means = slot_means(
        tensors.y[:, train_start:train_end].astype(float), slots[train_start:train_end]
    )
    frontier = tensors.y.shape[1]
    assert (forecast.start, forecast.end) == (frontier, frontier + 6)
    next_slots = (slots[-1] + 1 + np.arange(6)) % 168  # the six hours after the data
    np.testing.assert_allclose(forecast.expected, means.loc[next_slots].to_numpy(), rtol=1e-12)


def test_a_network_other_than_fase_is_allocated_on_and_retrained(dnn_run: Path) -> None:
    trained = TrainedRun.load(dnn_run)
    assert trained.forecaster.name == "dnn" and trained.forecaster.objective == "mse"
    data = trained.data
    start, end = data.bounds("test")
    module = trained.forecaster.module.eval()
    with torch.no_grad():  # the network by hand: the mean of its Poisson is its output
        y_hist = torch.zeros(1, data.num_nodes, end - start)
        mu = module(torch.as_tensor(data.x[None, :, start:end]), y_hist)["mu"][0].T.numpy()
    forecast = read_forecast(RunDir(dnn_run).forecast)
    # written with the scored weights, which are the best ones: one epoch
    np.testing.assert_allclose(forecast.expected, mu, rtol=1e-6)
    result = run_allocation(dnn_run, PROPORTIONAL)
    np.testing.assert_allclose(result.patrol, proportional(forecast.expected, 10.0), rtol=1e-6)

    run = SimulationRun.load(dnn_run)
    before = {k: v.clone() for k, v in run.trained.forecaster.module.state_dict().items()}
    sim = ONE_DAY.model_copy(update={"retrain_epochs": 2})
    outcome, _ = run_simulation(run, sim, PROPORTIONAL, name="dnn-check")
    history = outcome.history
    assert len(history) == 2 and np.isfinite(history["loss_final"]).all()
    assert (history["retrain_bins"] > 0).all()
    after = run.trained.forecaster.module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # replicates retrain copies
    settings = read_json(RunDir(dnn_run).scenario("dnn-check").history_json)["settings"]
    assert settings["forecaster"] == "dnn"
