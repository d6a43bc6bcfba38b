"""Smoke test: ``fase run --preset quick`` on the embedded data, end to end."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd
from tests.helpers.city import write_city
from tests.simulation.trained_run import incidents
from typer.testing import CliRunner

from fase.cli import app
from fase.io import read_json


def test_quick_run_writes_every_phase_and_the_report(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", "--preset", "quick", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = out / "report" / "report.html"
    assert f"report: {report}" in result.output
    assert "Wall time per phase" in result.output
    for artefact in (
        "config.yaml",
        "data/tensors.npz",
        "graph/graph.npz",
        "checkpoints/best.pt",
        "training_log.csv",
        "forecast/forecast.npz",
        "evaluation/evaluation.json",
        "allocation/diminishing/allocation.npz",
        "allocation/tradeoff.csv",
    ):
        assert (out / artefact).is_file(), artefact
    history = next((out / "simulation").glob("*/history.csv"))
    with history.open() as handle:
        assert len(list(csv.DictReader(handle))) == 2  # the quick preset's two cycles
    info = read_json(out / "run_info.json")
    assert info["seed"] == 42 and info["versions"]["torch"].startswith("2.13.0")
    assert "Phase 3: training" in info["commands"][-1]["seconds"]
    assert report.stat().st_size > 10_000
    page = report.read_text(encoding="utf-8")
    parameters = read_json(out / "model" / "forecaster.json")["parameters"]
    assert "Model (the paper&#x27;s Table 2)" in page and f"<td>{parameters:,}</td>" in page
    assert "Smoke test — do not interpret" in page  # the quick preset's banner
    # the findings come first, and each number is the replicates' (3 in the quick preset)
    assert re.findall(r"<h2>(.*?)</h2>", page)[0] == "Findings"
    replicates = pd.read_csv(next((out / "simulation").glob("*/history_replicates.csv")))
    last = replicates[replicates["cycle"] == replicates["cycle"].max()]
    first = replicates[replicates["cycle"] == replicates["cycle"].min()]
    for column, fmt in (("detection_gap", "{:+.4f}"), ("dir_mean", "{:.4f}")):
        values = last.sort_values("replicate")[column].to_numpy()
        lo, hi = np.quantile(values, [0.025, 0.975])
        assert f"{fmt.format(values.mean())} [{fmt.format(lo)}, {fmt.format(hi)}]" in page
    change = (
        last.sort_values("replicate")["detection_gap"].to_numpy()
        - first.sort_values("replicate")["detection_gap"].to_numpy()
    )
    assert f"{change.mean():+.4f}" in page
    assert "Fairness–efficiency trade-off" in page and "<summary>tradeoff.csv</summary>" in page
    assert str(out.resolve()) not in page


def test_run_with_another_model_deploys_that_model(tmp_path: Path) -> None:
    """``fase run --model historical_average`` on the tiny grid city: every phase uses
    the average, the allocation is made on its forecast and the report is written."""
    city = write_city(tmp_path / "city", incidents(), "2021-03-01", "2021-03-21", tz="UTC")
    out = tmp_path / "run"
    args = ["run", "--config", str(city.config), "--preset", "quick", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--model", "historical_average"])
    assert result.exit_code == 0, result.output
    assert "forecaster: historical_average" in result.output
    assert "n/a (fitted in closed form)" in result.output
    assert read_json(out / "model" / "forecaster.json")["name"] == "historical_average"
    assert not (out / "checkpoints").exists()  # no network, no checkpoints
    settings = read_json(next((out / "simulation").glob("*/history.json")))["settings"]
    assert settings["forecaster"] == "historical_average"
    assert (out / "report" / "report.html").is_file()
