"""The comparison: registry, leaderboard aggregation, per-type shares, written files."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
from tests.forecasters.synthetic import spillover_city

from fase.config.training import TrainingConfig
from fase.errors import FaseInputError
from fase.forecasters.registry import ForecasterSettings, available_models, create
from fase.phases.compare import (
    compare,
    leaderboard_markdown,
    leaderboard_table,
    type_shares,
)

STUDY_MODELS = {"historical_average", "seasonal_naive", "poisson_glm", "hawkes", "dnn", "crimenet"}
GRAPH_AND_FASE = {"gat_tcn", "stgnn", "fase_paper", "fase_default"}


def test_registry_lists_every_model_and_rejects_unknown_names():
    names = available_models()
    assert set(names) >= STUDY_MODELS | GRAPH_AND_FASE
    settings = ForecasterSettings(training=TrainingConfig())
    for name in names:
        model = create(name, settings)
        assert model.name == name
    with pytest.raises(FaseInputError, match="unknown model 'arima'"):
        create("arima", settings)


def test_leaderboard_is_mean_and_population_std_over_seeds_sorted_by_nll():
    base = {m: 0.0 for m in ("pai_10", "macro_f1", "micro_f1", "dp_difference")}
    base |= {"eo_difference": 0.0, "mae_ratio": 1.0, "rmse": 1.0, "parameters": 10}
    runs = pd.DataFrame(
        [
            {
                "model": "a",
                "family": "neural",
                "objective": "mse",
                "deterministic": False,
                "seed": 1,
                "nll": 0.7,
                "mae": 0.3,
                "train_seconds": 2.0,
                **base,
            },
            {
                "model": "a",
                "family": "neural",
                "objective": "mse",
                "deterministic": False,
                "seed": 2,
                "nll": 0.5,
                "mae": 0.5,
                "train_seconds": 4.0,
                **base,
            },
            {
                "model": "b",
                "family": "baseline",
                "objective": "nll",
                "deterministic": True,
                "seed": 1,
                "nll": 0.55,
                "mae": 0.4,
                "train_seconds": 1.0,
                **base,
            },
        ]
    )
    table = leaderboard_table(runs)
    assert list(table["model"]) == ["b", "a"]  # 0.55 < mean(0.7, 0.5) = 0.6
    a = table.set_index("model").loc["a"]
    assert a["nll"] == pytest.approx(0.6) and a["nll_std"] == pytest.approx(0.1)
    assert a["train_seconds"] == pytest.approx(3.0) and a["seeds"] == 2
    markdown = leaderboard_markdown(table)
    assert "| a | neural | mse | 0.6000 ± 0.1000 |" in markdown
    assert "| b | baseline | nll | 0.5500 |" in markdown  # deterministic: no spread


def test_type_shares_are_each_areas_training_shares():
    data = spillover_city(n=3, steps=40)
    y_types = np.zeros((3, 40, 2), np.int64)
    train_end = data.split["train"][1]
    y_types[0, :train_end, 0] = 1  # area 0: all category 0
    y_types[1, :train_end, 0] = 1  # area 1: 1 : 3
    y_types[1, :train_end, 1] = 3
    y_types[2, train_end:, 1] = 5  # area 2: nothing in training → city-wide shares
    data = dataclasses.replace(data, y_types=y_types, type_names=["A", "B"])
    shares = type_shares(data)
    city = np.array([2 * train_end, 3 * train_end]) / (5 * train_end)
    np.testing.assert_allclose(shares, [[1.0, 0.0], [0.25, 0.75], city])
    assert type_shares(dataclasses.replace(data, y_types=None)) is None


def test_compare_writes_the_leaderboard_and_fits_deterministic_models_once(tmp_path):
    data = spillover_city(n=4, steps=1200)
    settings = ForecasterSettings(training=TrainingConfig(epochs=1))
    result = compare(data, ["historical_average", "hawkes"], [1, 2, 3], settings, tmp_path)
    assert len(result.runs) == 6
    for name in ("historical_average", "hawkes"):
        rows = result.runs[result.runs["model"] == name]
        assert rows["nll"].nunique() == 1 and rows["deterministic"].all()
        truth = create(name, settings)
        truth.fit(data, seed=0)
        assert rows["nll"].iloc[0] == pytest.approx(truth.evaluate(data)["nll"], rel=1e-12)
    # the planted spill-over is visible to the Hawkes model only
    assert list(result.leaderboard["model"]) == ["hawkes", "historical_average"]
    for name in ("leaderboard.csv", "leaderboard.md", "leaderboard.json", "runs.csv"):
        assert (tmp_path / name).is_file()
    assert (tmp_path / "leaderboard.png").stat().st_size > 10_000
    on_disk = pd.read_csv(tmp_path / "leaderboard.csv")
    np.testing.assert_allclose(on_disk["nll"], result.leaderboard["nll"])


def test_worker_processes_give_the_numbers_of_one_process(tmp_path):
    """Two one-thread worker processes fit the same (model, seed) jobs as the test's
    one-thread process: identical scores, and the explanations are written."""
    torch.set_num_threads(1)
    data = spillover_city(n=4, steps=1200)
    training = TrainingConfig(window=32, stride=16, epochs=2, early_stopping_patience=None)
    settings = ForecasterSettings(training=training, quick=True)
    models, seeds = ["historical_average", "dnn"], [3, 4]
    serial = compare(data, models, seeds, settings, tmp_path / "serial")
    parallel = compare(data, models, seeds, settings, tmp_path / "parallel", workers=2)
    metrics = ["nll", "mae", "rmse", "macro_f1", "parameters"]
    pd.testing.assert_frame_equal(serial.runs[metrics], parallel.runs[metrics])
    assert serial.runs.loc[serial.runs["model"] == "dnn", "nll"].nunique() == 2  # seeds differ
    for out in ("serial", "parallel"):
        assert (tmp_path / out / "explanations" / "dnn" / "attributions.csv").is_file()
