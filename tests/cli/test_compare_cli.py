"""``fase compare`` options through the command line on a small city of our own: the bin
is the one asked for, ``--tune`` searches the configured grid, a directory built at another
bin is refused, a comparison-only model is refused by a deployment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from tests.helpers.city import write_city
from typer.testing import CliRunner

from fase.cli import app
from fase.io import read_json


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Nine grid areas, 240 days of incidents of two types (theft, battery), a config whose
    tuning grid has two points for the DNN."""
    rng = np.random.default_rng(0)
    days = pd.date_range("2021-01-01", periods=240, freq="D")
    rows = []
    for day in days:
        for node in range(1, 10):
            for _ in range(rng.poisson(0.5 + 0.2 * node)):
                hour = int(rng.integers(0, 24))
                kind = "THEFT" if rng.random() < 0.6 else "BATTERY"
                rows.append(
                    {"time": f"{day:%Y-%m-%d} {hour:02d}:30:00", "node": node, "type": kind}
                )
    root = tmp_path_factory.mktemp("compare-city")
    written = write_city(root, pd.DataFrame(rows), "2021-01-01", "2021-08-29")
    config = yaml.safe_load(written.config.read_text())
    config["compare"] = {
        "tuning": {
            "grid": {"dnn": {"hidden": [4, 8]}},
            "budget": {"epochs": 1, "windows": 4, "early_stopping_patience": None},
        }
    }
    config["training"] = {"window": 8}
    path = root / "city.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def test_bin_and_tune_take_effect(city: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    code, output = invoke(
        "compare", "--config", str(city), "--models", "historical_average,dnn", "--quick",
        "--seeds", "1", "--no-explain", "--bin", "12h", "--tune", "--out", str(out),
    )  # fmt: skip
    assert code == 0, output
    assert "comparing at 12h bins" in output
    info = read_json(out / "run_info.json")["commands"][-1]
    assert info["bin"] == "12h"
    tuning = pd.read_csv(out / "tuning.csv")
    assert sorted(tuning["hidden"]) == [4, 8] and tuning["chosen"].sum() == 1
    chosen = int(tuning.loc[tuning["chosen"], "hidden"].iloc[0])
    assert info["hyperparameters"] == {"dnn": {"hidden": chosen}}
    runs = pd.read_csv(out / "runs.csv").set_index("model")
    h = chosen  # the DNN of the comparison has the chosen width (13 features, 3 layers, 2 types)
    assert runs.loc["dnn", "parameters"] == 13 * h + h + 2 * (h * h + h) + 2 * (h + 1)
    tensors = read_json(out / "data" / "meta.json")
    assert tensors["bin"] == "12h" and tensors["crime_types"] == ["VIOLENT", "THEFT"]

    code, output = invoke(
        "compare", "--config", str(city), "--models", "historical_average", "--quick",
        "--seeds", "1", "--bin", "1D", "--out", str(out),
    )  # fmt: skip
    assert code != 0 and "holds data at 12h bins, the comparison asks for 1D" in output


def test_daily_is_the_default_and_classifiers_do_not_deploy(city: Path, tmp_path: Path) -> None:
    out = tmp_path / "daily"
    code, output = invoke(
        "compare", "--config", str(city), "--models", "historical_average,dnn_levels",
        "--quick", "--seeds", "1", "--out", str(out),
    )  # fmt: skip
    assert code == 0, output
    board = pd.read_csv(out / "leaderboard.csv").set_index("model")
    assert np.isnan(board.loc["dnn_levels", "nll"]) and board.loc["dnn_levels", "task"] == "levels"
    assert np.isfinite(board.loc["dnn_levels", "level_nll"])
    code, output = invoke(
        "train", "--config", str(city), "--model", "dnn_levels", "--out", str(tmp_path / "t")
    )
    assert code != 0 and "unknown deployable model 'dnn_levels'" in output
    code, output = invoke(
        "compare",
        "--config",
        str(city),
        "--models",
        "dnn_study",
        "--quick",
        "--out",
        str(tmp_path / "s"),
    )
    assert code != 0 and "dnn_study read the study's incident-level fields" in output


def test_device_option_reaches_the_fits_and_a_missing_gpu_is_refused(
    city: Path, tmp_path: Path
) -> None:
    out = tmp_path / "on-cpu"
    code, output = invoke(
        "compare", "--config", str(city), "--models", "dnn", "--quick", "--seeds", "1",
        "--no-explain", "--device", "cpu", "--out", str(out),
    )  # fmt: skip
    assert code == 0, output
    assert "device cpu" in output
    assert yaml.safe_load((out / "config.yaml").read_text())["training"]["device"] == "cpu"
    code, output = invoke("compare", "--models", "dnn", "--device", "tpu")
    assert code == 2 and "error: --device: unknown device 'tpu'" in output
    if not torch.cuda.is_available():
        missing = tmp_path / "on-cuda"
        code, output = invoke(
            "compare", "--config", str(city), "--models", "dnn", "--quick", "--seeds", "1",
            "--device", "cuda", "--out", str(missing),
        )  # fmt: skip
        assert code == 2 and "torch sees no GPU" in output
        assert not missing.exists()
