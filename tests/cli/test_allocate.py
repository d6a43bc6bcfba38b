"""``allocate_command`` through typer's CliRunner on a fake run directory."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from fase.allocation import Groups, dir_ratio, solve_diminishing, solve_dir_lp
from fase.cli.allocate import allocate_command
from fase.errors import FaseInputError
from fase.io import read_json, read_npz

LABELS = ["minority"] * 14 + ["majority"] * 10 + ["unknown"]


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.command("allocate")(allocate_command)
    return app


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    mu = rng.gamma(0.8, 1.0, (48, 25))
    (tmp_path / "forecast").mkdir()
    (tmp_path / "data").mkdir()
    np.savez(tmp_path / "forecast" / "forecast.npz", expected=0.7 * mu, mu=mu)
    (tmp_path / "data" / "meta.json").write_text(json.dumps({"groups": LABELS}))
    return tmp_path


def test_paper_policy_end_to_end(app: typer.Typer, run_dir: Path) -> None:
    result = CliRunner().invoke(app, [str(run_dir)])
    assert result.exit_code == 0, result.output
    assert "paper: 48 steps × 25 areas" in result.output
    patrol = read_npz(run_dir / "allocation" / "paper" / "allocation.npz")["patrol"]
    groups = Groups.from_labels(LABELS)
    expected = read_npz(run_dir / "forecast" / "forecast.npz")["expected"]
    np.testing.assert_allclose(
        patrol, solve_dir_lp(expected, groups.minority, majority=groups.majority)
    )
    ratios = dir_ratio(patrol, groups)
    assert np.all(np.isclose(ratios, 0.95) | np.isclose(ratios, 1.05) | np.isnan(ratios))


def test_options_reach_the_policy(app: typer.Typer, run_dir: Path) -> None:
    args = [str(run_dir), "--policy", "diminishing", "--risk-kind", "mu", "--no-dir"]
    args += ["--kappa", "2", "--budget", "30", "--cap", "10", "--floor", "0.5"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    patrol = read_npz(run_dir / "allocation" / "diminishing" / "allocation.npz")["patrol"]
    mu = read_npz(run_dir / "forecast" / "forecast.npz")["mu"]
    groups = Groups.from_labels(LABELS)
    np.testing.assert_allclose(patrol, solve_diminishing(mu, groups, 30.0, 2.0, None, 10.0, 0.5))
    summary = read_json(run_dir / "allocation" / "diminishing" / "summary.json")
    assert summary["config"]["epsilon"] is None and summary["risk_key"] == "mu"


def test_explicit_risk_file(app: typer.Typer, run_dir: Path, tmp_path: Path) -> None:
    np.savez(tmp_path / "scores.npz", s=np.ones((5, 25)))
    result = CliRunner().invoke(
        app, [str(run_dir), "--risk", str(tmp_path / "scores.npz"), "--risk-key", "s"]
    )
    assert result.exit_code == 0, result.output
    assert read_npz(run_dir / "allocation" / "paper" / "allocation.npz")["patrol"].shape == (5, 25)


def test_missing_forecast_names_the_file(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [str(tmp_path)])
    assert isinstance(result.exception, FaseInputError)
    assert result.exception.source == str(tmp_path / "forecast" / "forecast.npz")


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--policy", "greedy"], "--policy"),
        (["--epsilon", "1.5"], "--epsilon"),
        (["--cap", "-1"], "--cap"),
    ],
)
def test_bad_option_names_the_option(app: typer.Typer, run_dir: Path, args, option: str) -> None:
    result = CliRunner().invoke(app, [str(run_dir), *args])
    assert isinstance(result.exception, FaseInputError)
    assert result.exception.source == option


def test_run_config_supplies_defaults_and_options_override(app: typer.Typer, run_dir: Path) -> None:
    (run_dir / "config.yaml").write_text(
        "allocation: {policy: proportional, budget: 30, risk: mu}\n"
    )
    result = CliRunner().invoke(app, [str(run_dir)])
    assert result.exit_code == 0, result.output
    patrol = read_npz(run_dir / "allocation" / "proportional" / "allocation.npz")["patrol"]
    np.testing.assert_allclose(patrol.sum(axis=1), 30.0)
    result = CliRunner().invoke(app, [str(run_dir), "--budget", "12"])
    patrol = read_npz(run_dir / "allocation" / "proportional" / "allocation.npz")["patrol"]
    np.testing.assert_allclose(patrol.sum(axis=1), 12.0)


def test_tradeoff_writes_the_sweep_of_every_policy(app: typer.Typer, run_dir: Path) -> None:
    """``--tradeoff``: one row per (policy, tolerance); the paper LP at ε = 0.05 and B = 30
    gives the coverage of its allocation computed here from the closed-form solver."""
    from fase.allocation import allocation_metrics

    result = CliRunner().invoke(app, [str(run_dir), "--budget", "30", "--tradeoff"])
    assert result.exit_code == 0, result.output
    assert "trade-off: 4 policies × 8 tolerances" in result.output
    table = pd.read_csv(run_dir / "allocation" / "tradeoff.csv")
    assert len(table) == 32 and set(table["policy"]) == {
        "paper", "proportional", "diminishing", "detection_parity"
    }  # fmt: skip
    expected = read_npz(run_dir / "forecast" / "forecast.npz")["expected"]
    groups = Groups.from_labels(LABELS)
    patrol = solve_dir_lp(
        expected, groups.minority, epsilon=0.05, budget=30.0, majority=groups.majority
    )
    metrics = allocation_metrics(patrol, expected, groups, 30.0)
    row = table[(table["policy"] == "paper") & np.isclose(table["tolerance"], 0.05)].iloc[0]
    assert row["coverage"] == pytest.approx(np.nanmean(metrics["coverage"]), rel=1e-9)
    assert row["dir_deviation"] == pytest.approx(0.05, abs=1e-9)
