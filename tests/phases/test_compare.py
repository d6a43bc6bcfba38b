"""The comparison: registry, leaderboard aggregation, per-type forecasts, risk levels that
separate models, grid search, written files."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import poisson
from tests.forecasters.synthetic import make_data, spillover_city

from fase.config.compare import TuningConfig
from fase.config.loader import load_config
from fase.config.training import TrainingConfig
from fase.errors import FaseInputError
from fase.evaluation.leaderboard import leaderboard_markdown, leaderboard_table
from fase.forecasters.data import ForecastData
from fase.forecasters.registry import ForecasterSettings, available_models, create
from fase.forecasters.scores import per_type_scores
from fase.models.distributions import Poisson
from fase.phases.compare import compare, grid_points, tune
from fase.report.build import build_report
from fase.rundir import RunDir

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
    base = {m: 0.0 for m in ("pai_10", "macro_f1", "micro_f1", "dp_difference", "level_nll")}
    base |= {"task": "counts"}
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


def typed_city(steps: int = 700, seed: int = 0) -> ForecastData:
    """A daily city of 6 areas and two crime types with a planted signal: type A's count
    at (v, t) is Poisson(0.3 + 6·s[v, t]) with s a 0/1 feature of the bin itself (read by
    every model through feature 0), type B's Poisson(1) everywhere. Areas 0–2 minority."""
    rng = np.random.default_rng(seed)
    n = 6
    signal = (rng.random((n, steps)) < 0.3).astype(np.float64)
    a = rng.poisson(0.3 + 6.0 * signal)
    b = rng.poisson(np.ones((n, steps)))
    x = np.stack([signal - 0.3, rng.normal(size=(n, steps))], axis=2)
    split = {"train": (0, 500), "val": (500, 600), "test": (600, steps)}
    data = make_data(a + b, split, bins_per_day=1, x=x)
    return dataclasses.replace(
        data,
        y_types=np.stack([a, b], axis=2).astype(np.int64),
        type_names=["A", "B"],
        groups=np.array(["minority"] * 3 + ["majority"] * 3),
    )


def test_per_type_scores_by_hand():
    mu = torch.tensor([[[1.0, 2.0]], [[0.5, 3.0]]], dtype=torch.float64)  # (T=2, N=1, K=2)
    truth = np.array([[[0, 4]], [[2, 1]]])
    scores = per_type_scores(Poisson(mu), truth, ["A", "B"])
    assert scores["A"]["mae"] == pytest.approx((1.0 + 1.5) / 2)
    assert scores["B"]["rmse"] == pytest.approx(np.sqrt((4 + 4) / 2))
    nll_b = -(poisson.logpmf(4, 2.0) + poisson.logpmf(1, 3.0)) / 2
    assert scores["B"]["nll"] == pytest.approx(nll_b)


def test_a_model_that_sees_the_signal_separates_the_risk_levels(tmp_path):
    """Daily bins, per-type forecasts: the DNN (which reads the planted feature) scores a
    clearly higher Macro-F1 than the historical average (which cannot); DP and EO are
    numbers; per-type scores come from per-type forecasts and the total is their sum."""
    torch.set_num_threads(1)
    data = typed_city()
    training = TrainingConfig(window=16, stride=1, epochs=30, early_stopping_patience=None)
    settings = ForecasterSettings(training=training, quick=True, crime_types=True)
    result = compare(
        {"area": data},
        ["historical_average", "dnn", "dnn_levels"],
        [0],
        settings,
        tmp_path,
        explain=False,
    )
    board = result.leaderboard.set_index("model")
    # measured: HA 0.113, DNN 0.261, DNN classifier 0.255 (the levels within a regime
    # are chance: no model can do much better)
    assert board.loc["dnn", "macro_f1"] > board.loc["historical_average", "macro_f1"] + 0.1
    assert board.loc["dnn_levels", "macro_f1"] > board.loc["historical_average", "macro_f1"] + 0.1
    for model in board.index:
        assert np.isfinite(board.loc[model, "dp_difference"])
        assert np.isfinite(board.loc[model, "eo_difference"])
    assert np.isnan(board.loc["dnn_levels", "nll"])  # a classifier has no count NLL
    types = result.per_type.set_index(["model", "category"])
    start, end = data.bounds("test")
    # each type's own historical average (per area and weekday, over the training days)
    for k, name in enumerate(data.type_names):
        alone = create("historical_average", ForecasterSettings(training=training))
        single = data.crime_type(k)
        alone.fit(single, seed=0)
        assert types.loc[("historical_average", name), "mae"] == pytest.approx(
            alone.evaluate(single)["mae"], rel=1e-12
        )
    assert types.loc[("dnn", "A"), "mae"] < types.loc[("historical_average", "A"), "mae"]
    assert set(types.index.get_level_values("model")) == {"historical_average", "dnn"}
    confusion = result.confusion
    assert confusion.groupby("model")["cells"].sum().eq(6 * (end - start)).all()
    for name in ("per_type.csv", "level_confusion.csv"):
        assert (tmp_path / name).is_file()


def test_grid_points_keep_the_written_order_and_the_cap():
    points = grid_points({"hidden": [8, 16], "lr": [1e-3, 1e-2]}, max_points=3)
    assert points == [
        {"hidden": 8, "lr": 1e-3},
        {"hidden": 8, "lr": 1e-2},
        {"hidden": 16, "lr": 1e-3},
    ]


def test_tune_chooses_the_lowest_validation_loss():
    torch.set_num_threads(1)
    data = typed_city(steps=400)
    data = dataclasses.replace(
        data, split={"train": (0, 280), "val": (280, 340), "test": (340, 400)}
    )
    training = TrainingConfig(window=16, stride=8, epochs=3, early_stopping_patience=None)
    settings = ForecasterSettings(training=training, quick=True)
    tuning = TuningConfig(grid={"dnn": {"hidden": [4, 16], "lr": [1e-4, 1e-2]}}, max_points=4)
    chosen, table = tune({"area": data}, ["dnn", "historical_average"], settings, tuning, seed=0)
    assert len(table) == 4 and table["chosen"].sum() == 1
    best = table.loc[table["val_loss"].idxmin()]
    assert chosen == {"dnn": {"hidden": best["hidden"], "lr": best["lr"]}}
    assert "historical_average" not in chosen  # no grid: its defaults


def test_compare_writes_the_leaderboard_and_fits_deterministic_models_once(tmp_path):
    data = spillover_city(n=4, steps=1200)
    settings = ForecasterSettings(training=TrainingConfig(epochs=1))
    result = compare(
        {"area": data}, ["historical_average", "hawkes"], [1, 2, 3], settings, tmp_path
    )
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
    serial = compare({"area": data}, models, seeds, settings, tmp_path / "serial")
    parallel = compare({"area": data}, models, seeds, settings, tmp_path / "parallel", workers=2)
    metrics = ["nll", "mae", "rmse", "macro_f1", "parameters"]
    pd.testing.assert_frame_equal(serial.runs[metrics], parallel.runs[metrics])
    assert serial.runs.loc[serial.runs["model"] == "dnn", "nll"].nunique() == 2  # seeds differ
    for out in ("serial", "parallel"):
        assert (tmp_path / out / "explanations" / "dnn" / "attributions.csv").is_file()
        assert (tmp_path / out / "explanations" / "dnn" / "shap.csv").is_file()
    # the report shows the leaderboard and the explanations of a comparison
    run = RunDir(tmp_path / "serial")
    run.write_config(load_config(preset="quick"))
    html = build_report(run.root).read_text(encoding="utf-8")
    assert "Model comparison" in html and "Explanations: dnn" in html
    assert "| historical_average |" not in html and "<td>historical_average</td>" in html
