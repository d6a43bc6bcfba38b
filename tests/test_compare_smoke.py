"""Smoke test: ``fase compare --quick`` on the embedded data (daily bins, per-type
forecasts), every model, two seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fase.cli import app
from fase.forecasters.data import ForecastData
from fase.forecasters.registry import compared_models
from fase.io import read_json
from fase.rundir import RunDir

DETERMINISTIC = ("historical_average", "seasonal_naive", "poisson_glm", "hawkes")


def _historical_average_mae(data: ForecastData) -> float:
    """Test-split MAE of the sum over crime types of each type's day-of-week training
    mean (floor 0.5 / bins), by pandas."""
    start, end = data.bounds("train")
    slots = data.season_index()
    test_start, test_end = data.bounds("test")
    predicted = 0.0
    for k in range(len(data.type_names)):
        train = pd.DataFrame(data.y_types[:, start:end, k].T).groupby(slots[start:end])
        mean = np.maximum(train.sum(), 0.5) / train.count()  # (slot, N)
        predicted = predicted + mean.reindex(slots[test_start:test_end]).to_numpy()
    return float(np.abs(data.y[:, test_start:test_end].T - predicted).mean())


def test_quick_compare_writes_the_leaderboard_of_every_model(tmp_path: Path) -> None:
    out = tmp_path / "compare"
    result = CliRunner().invoke(app, ["compare", "--quick", "--seeds", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    compared = [m for m in compared_models() if not m.endswith("_study")]  # no LAPD fields
    assert "comparing at 1D bins" in result.output
    assert f"leaderboard: {out / 'leaderboard.md'} ({len(compared)} models)" in result.output
    for name in ("leaderboard.md", "leaderboard.csv", "runs.csv", "per_type.csv"):
        assert (out / name).is_file(), name
    assert (out / "leaderboard.png").stat().st_size > 10_000

    runs = pd.read_csv(out / "runs.csv")
    assert sorted(runs["model"].unique()) == sorted(compared)
    assert len(runs) == 2 * len(compared)
    assert set(runs["seed"]) == {42, 43}
    board = pd.read_csv(out / "leaderboard.csv").set_index("model")
    counts = board[board["task"] == "counts"]
    assert list(counts["nll"]) == sorted(counts["nll"])
    for name in DETERMINISTIC:
        assert board.loc[name, "nll_std"] == 0.0
    # the acceptance: Macro-F1 tells models apart, DP and EO are numbers
    assert board["macro_f1"].round(4).nunique() >= 5
    assert np.isfinite(board["dp_difference"]).all() and np.isfinite(board["eo_difference"]).all()
    per_type = pd.read_csv(out / "per_type.csv")
    assert set(per_type["category"]) == {"VIOLENT", "THEFT", "DAMAGE"}
    assert not set(per_type["model"]) & {"dnn_levels", "crimenet_levels", "gat_tcn_levels"}

    assert read_json(out / "run_info.json")["commands"][-1]["seeds"] == 2
    cfg = RunDir(out).load_config()
    data = ForecastData.from_run(out, cfg.dataset.areas.projected_crs)
    assert data.type_names == ["VIOLENT", "THEFT", "DAMAGE"]
    assert board.loc["historical_average", "mae"] == pytest.approx(
        _historical_average_mae(data), rel=1e-9
    )

    neural = ("dnn", "crimenet", "gat_tcn", "gat_tcn_nb", "stgnn", "fase_paper", "fase_default")
    for name in neural:
        explained = out / "explanations" / name
        assert (explained / "attribution_features.png").is_file(), name
        attributions = pd.read_csv(explained / "attributions.csv", index_col="area")
        assert attributions.shape == (data.num_nodes, 13)
        assert (attributions.to_numpy() >= 0).all() and attributions.to_numpy().sum() > 0
        shap = pd.read_csv(explained / "shap.csv", index_col="area")
        assert list(shap.columns) == list(attributions.columns)
    assert not (out / "explanations" / "hawkes").exists()
    assert not (out / "explanations" / "dnn_levels").exists()
