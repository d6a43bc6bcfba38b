"""``fase simulate`` on a tiny trained run: artefacts, columns, replicates, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import typer
from tests.simulation.trained_run import write_trained_run
from typer.testing import CliRunner

from fase.cli import reports_errors
from fase.cli.simulate import simulate_command
from fase.data.tensors import Tensors
from fase.io import read_json, read_npz
from fase.simulation.metrics import PAPER_COLUMNS, PER_AREA_ARRAYS

app = typer.Typer()
app.command()(reports_errors(simulate_command))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return write_trained_run(tmp_path_factory.mktemp("sim"))


def invoke(*args: str):
    return CliRunner().invoke(app, [*args, "--threads", "1"])


def test_rolling_simulation_writes_its_artefacts(run_dir):
    result = invoke(
        str(run_dir),
        "--cycles",
        "3",
        "--period",
        "1D",
        "--retrain-epochs",
        "1",
        "--retrain-window",
        "8",
    )
    assert result.exit_code == 0, result.output
    out = run_dir / "simulation" / "rolling-diminishing"
    history = pd.read_csv(out / "history.csv")
    assert list(history["cycle"]) == [1, 2, 3]
    assert list(history["period_start"]) == [408, 432, 456]  # the test split, day by day
    for column in (
        "loss_mean",
        "dir_mean",
        "detection_gap",
        "forecast_mae_true",
        "forecast_nll_observed",
        "patrol_share_minority",
        "patrolled_areas_mean",
    ):
        assert history[column].notna().all(), column
    np.testing.assert_allclose(
        history["detection_gap"], history["detection_min"] - history["detection_maj"]
    )
    arrays = read_npz(out / "per_area.npz")
    for name in PER_AREA_ARRAYS:
        assert arrays[name].shape == (3, 9), name
    assert np.all(arrays["observed_count"] <= arrays["true_count"])
    settings = read_json(out / "history.json")["settings"]
    assert settings["simulation"]["mode"] == "rolling" and settings["params"]["risk"] == "expected"
    assert not (out / "simulation_history.csv").exists()


def test_paper_mode_writes_the_reference_table(run_dir):
    result = invoke(str(run_dir), "--mode", "paper", "--cycles", "2", "--retrain-epochs", "1")
    assert result.exit_code == 0, result.output
    out = run_dir / "simulation" / "paper-paper"
    table = pd.read_csv(out / "simulation_history.csv")
    assert tuple(table.columns) == PAPER_COLUMNS
    assert table["dir_mean"].between(0.95 - 1e-6, 1.05 + 1e-6).all()
    assert read_json(out / "history.json")["settings"]["params"]["risk"] == "mu"


def test_binomial_replicates_report_an_interval(run_dir):
    args = (
        str(run_dir),
        "--cycles",
        "1",
        "--period",
        "1D",
        "--retrain-epochs",
        "0",
        "--detection",
        "binomial",
        "--replicates",
        "3",
        "--name",
        "binomial",
    )
    assert invoke(*args).exit_code == 0
    out = run_dir / "simulation" / "binomial"
    history = pd.read_csv(out / "history.csv")
    assert history.loc[0, "detection_min_lo"] <= history.loc[0, "detection_min_hi"]
    replicates = pd.read_csv(out / "history_replicates.csv")
    assert list(replicates["replicate"]) == [0, 1, 2]
    assert invoke(*args[:-1], "binomial-again").exit_code == 0
    again = pd.read_csv(run_dir / "simulation" / "binomial-again" / "history_replicates.csv")
    pd.testing.assert_frame_equal(replicates, again)  # reproducible by the run's seed


def test_too_many_cycles_is_an_input_error(run_dir):
    result = invoke(str(run_dir), "--cycles", "4", "--period", "1D")
    assert result.exit_code == 2
    assert "--cycles" in result.output and "at most 3 cycles" in result.output


def test_bad_option_values_name_the_option(run_dir):
    result = invoke(str(run_dir), "--detection", "sometimes")
    assert result.exit_code == 2 and "--detection" in result.output
    result = invoke(str(run_dir), "--detection", "expected", "--replicates", "3")
    assert result.exit_code == 2 and "--replicates" in result.output


def test_missing_checkpoint_is_an_input_error(tmp_path):
    result = invoke(str(tmp_path))
    assert result.exit_code == 2 and "config.yaml" in result.output


def test_another_model_is_fitted_on_the_run_and_deployed(run_dir):
    """``--model historical_average`` on a FASE run: its own scenario, and the first
    period is forecast with the average of the training counts per hour of the week."""
    result = invoke(
        str(run_dir), "--model", "historical_average", "--cycles", "1", "--period", "1D"
    )
    assert result.exit_code == 0, result.output
    assert "with historical_average" in result.output
    out = run_dir / "simulation" / "rolling-diminishing-historical_average"
    history = pd.read_csv(out / "history.csv")
    settings = read_json(out / "history.json")["settings"]
    assert settings["forecaster"] == "historical_average"
    tensors = Tensors.load(run_dir)
    starts = tensors.starts()
    slots = (starts.day_of_week * 24 + starts.hour).to_numpy()
    start, end = tensors.split["train"]
    frame = pd.DataFrame(tensors.y[:, start:end].T.astype(float)).assign(slot=slots[start:end])
    grouped = frame.groupby("slot")
    means = grouped.sum().clip(lower=0.5).div(grouped.size(), axis=0)
    first = int(history["period_start"].iloc[0])
    period = np.arange(first, first + 24)  # the run's period: one day
    expected = means.loc[slots[period]].to_numpy()
    truth = tensors.y[:, period].T
    assert history["forecast_mae_true"].iloc[0] == pytest.approx(np.abs(expected - truth).mean())


def test_an_unknown_model_is_refused(run_dir):
    result = invoke(str(run_dir), "--model", "nope")
    assert result.exit_code == 2 and "unknown model 'nope'" in result.output


def test_device_option_takes_effect_and_a_missing_gpu_is_refused(run_dir):
    """--device places the simulation (recorded in history.json and the run's history);
    'auto' resolves to what this machine has; an unknown name or a GPU that is not there
    stops with one line and exit 2 before anything is simulated."""
    common = ("--cycles", "1", "--period", "1D", "--retrain-epochs", "1", "--retrain-window", "8")
    result = invoke(str(run_dir), *common, "--device", "auto", "--name", "on-auto")
    assert result.exit_code == 0, result.output
    settings = read_json(run_dir / "simulation" / "on-auto" / "history.json")["settings"]
    assert settings["device"] == ("cuda:0" if torch.cuda.is_available() else "cpu")
    logged = read_json(run_dir / "run_info.json")["commands"][-1]
    assert logged["command"] == "fase simulate" and logged["device"] == "auto"
    result = invoke(str(run_dir), *common, "--device", "tpu", "--name", "on-tpu")
    assert result.exit_code == 2 and "error: --device: unknown device 'tpu'" in result.output
    assert not (run_dir / "simulation" / "on-tpu").exists()
    if not torch.cuda.is_available():
        result = invoke(str(run_dir), *common, "--device", "cuda", "--name", "on-cuda")
        assert result.exit_code == 2, result.output
        assert "torch sees no GPU" in result.output and "Traceback" not in result.output
        assert not (run_dir / "simulation" / "on-cuda").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_gpu_device_runs_the_study_on_the_gpu(run_dir):
    """--device cuda: every variant × replicate retrains on the GPU (each replaying its
    captured step, simulation.capture)."""
    common = ("--cycles", "1", "--period", "1D", "--retrain-epochs", "1", "--retrain-window", "8")
    result = invoke(str(run_dir), *common, "--study", "--floor-share", "0", "--device", "cuda")
    assert result.exit_code == 0, result.output
    history = read_json(run_dir / "simulation" / "rolling-paper" / "history.json")
    assert history["settings"]["device"] == "cuda:0"
    assert history["settings"]["simulation"]["batched"] is True
