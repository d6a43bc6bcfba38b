"""``fase train`` and ``fase evaluate`` end to end on a tiny synthetic grid city."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
import yaml
from scipy import stats
from tests.helpers.city import TINY_TRAINING, City, write_city
from typer.testing import CliRunner

from fase.cli import reports_errors
from fase.cli.train import evaluate_command, train_command
from fase.data.tensors import Tensors
from fase.io import read_npz

runner = CliRunner()
app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
app.command("train")(reports_errors(train_command))
app.command("evaluate")(reports_errors(evaluate_command))


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in output
    return result.exit_code, output


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> City:
    """Two weeks of random incidents (seeded) over the 3×3 grid; tiny model and training."""
    rng = np.random.default_rng(1)
    times = pd.Timestamp("2017-03-01") + pd.to_timedelta(rng.integers(0, 14 * 24 * 60, 600), "min")
    frame = pd.DataFrame(
        {
            "time": times.strftime("%Y-%m-%d %H:%M:%S"),
            "node": rng.choice(9, 600, p=np.arange(1, 10) / 45) + 1,
        }
    )
    city = write_city(tmp_path_factory.mktemp("city"), frame, "2017-03-01", "2017-03-15")
    config = yaml.safe_load(city.config.read_text()) | TINY_TRAINING
    city.config.write_text(yaml.safe_dump(config))
    return city


@pytest.fixture(scope="module")
def trained(city: City) -> tuple[Path, str]:
    run_dir = city.root / "run"
    code, output = invoke(
        "train", "--config", str(city.config), "--out", str(run_dir), "--no-progress", "--seed", "5"
    )
    assert code == 0, output
    return run_dir, output


def test_train_builds_the_data_then_writes_checkpoints_log_and_forecast(trained) -> None:
    run_dir, output = trained
    assert "best epoch" in output and "s/epoch" in output
    for name in (
        "data/tensors.npz",
        "graph/graph.npz",
        "checkpoints/best.pt",
        "checkpoints/last.pt",
        "config.yaml",
        "run_info.json",
    ):
        assert (run_dir / name).is_file(), name
    log = pd.read_csv(run_dir / "training_log.csv")
    assert list(log.columns) == ["epoch", "train_loss", "val_loss", "lr", "seconds"]
    assert log["epoch"].tolist() == [1, 2]
    tensors = Tensors.load(run_dir)
    start, end = tensors.split["test"]
    forecast = read_npz(run_dir / "forecast" / "forecast.npz")
    assert forecast["mu"].shape == forecast["expected"].shape == (end - start, 9)
    np.testing.assert_array_equal(forecast["bin_start"], tensors.bin_start[start:end])
    assert forecast["val_mu"].shape == (np.subtract(*tensors.split["val"][::-1]), 9)
    np.testing.assert_allclose(
        forecast["expected"], (1 - forecast["pi"]) * forecast["mu"], rtol=1e-6
    )
    info = json.loads((run_dir / "run_info.json").read_text())
    assert info["seed"] == 5 and info["commands"][-1]["command"] == "fase train"
    assert info["commands"][-1]["scored_checkpoint"] == "best"


def test_evaluate_scores_the_test_forecast(trained) -> None:
    run_dir, _ = trained
    code, output = invoke("evaluate", str(run_dir))
    assert code == 0, output
    assert "| mae | rmse | nll |" in output and "hit_rate_mean" in output and "Interval" in output
    report = json.loads((run_dir / "evaluation" / "evaluation.json").read_text())
    assert (run_dir / "evaluation" / "evaluation.md").is_file()
    forecast = read_npz(run_dir / "forecast" / "forecast.npz")
    tensors = Tensors.load(run_dir)
    start, end = tensors.split["test"]
    y = tensors.y[:, start:end].T.astype(float)
    mu, theta, pi = (forecast[k].astype(float) for k in ("mu", "theta", "pi"))
    # independent ZINB likelihood from scipy's negative binomial (n = θ, p = θ / (θ + μ))
    pmf = (1 - pi) * stats.nbinom.pmf(y, theta, theta / (theta + mu)) + pi * (y == 0)
    counts = report["overall"]["counts"]
    assert counts["nll"] == pytest.approx(-np.log(pmf).mean(), rel=1e-5)
    assert counts["mae"] == pytest.approx(np.abs(forecast["expected"] - y).mean(), rel=1e-5)
    assert report["bins"] == end - start and report["nodes"] == 9
    assert {row["mode"] for row in report["overall"]["hotspots"]} == {"count", "area"}


def test_resume_of_a_finished_run_trains_no_further_epoch(trained) -> None:
    run_dir, first = trained
    code, output = invoke("train", "--resume", str(run_dir), "--no-progress")
    assert code == 0, output
    assert pd.read_csv(run_dir / "training_log.csv")["epoch"].tolist() == [1, 2]

    def summary(text: str) -> str:
        return next(line for line in text.splitlines() if "best epoch" in line)

    assert summary(output) == summary(first)  # same epochs, losses and test score


def test_refuses_clashing_options_other_data_and_missing_runs(
    city: City, trained, tmp_path: Path
) -> None:
    run_dir, _ = trained
    code, output = invoke("train", "--resume", str(run_dir), "--preset", "paper")
    assert code == 2 and "--resume" in output and "--preset" in output
    code, output = invoke("train", "--resume", str(tmp_path / "nowhere"))
    assert code == 2 and "config.yaml" in output
    code, output = invoke(
        "train",
        "--config",
        str(city.config),
        "--preset",
        "paper",
        "--out",
        str(run_dir),
        "--no-progress",
    )
    assert code == 2 and "another data and graph configuration" in output
    code, output = invoke("evaluate", str(tmp_path))
    assert code == 2 and "forecast" in output


def test_train_fits_the_model_named_with_model(city: City, tmp_path: Path) -> None:
    """``--model poisson_glm`` trains that model: its forecast is exp(b + x·w) of its own
    state, and the run records which model it holds."""
    run_dir = tmp_path / "glm"
    code, output = invoke(
        "train", "--config", str(city.config), "--out", str(run_dir), "--model", "poisson_glm"
    )
    assert code == 0, output
    assert "poisson_glm: fitted in" in output
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["forecaster"] == "poisson_glm"
    state = read_npz(run_dir / "model" / "state.npz")
    tensors = Tensors.load(run_dir)
    start, end = tensors.split["test"]
    x = tensors.scaled_x()[:, start:end].astype(np.float64)
    mu = np.exp(state["intercept"][0] + x @ state["weights"]).T
    forecast = read_npz(run_dir / "forecast" / "forecast.npz")
    assert str(forecast["distribution"]) == "poisson"
    np.testing.assert_allclose(forecast["mu"], mu, rtol=1e-6)
    info = json.loads((run_dir / "run_info.json").read_text())["commands"][-1]
    assert (info["model"], info["parameters"]) == ("poisson_glm", 14)


def test_an_unknown_model_is_refused_before_any_work(city: City, tmp_path: Path) -> None:
    code, output = invoke(
        "train", "--config", str(city.config), "--model", "nope", "--out", str(tmp_path / "x")
    )
    assert code == 2 and "--model: unknown model 'nope'" in output
    assert not (tmp_path / "x" / "data").exists()
