"""Smoke test: ``fase run --preset quick`` on the embedded data, end to end."""

from __future__ import annotations

import csv
from pathlib import Path

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
    ):
        assert (out / artefact).is_file(), artefact
    history = next((out / "simulation").glob("*/history.csv"))
    with history.open() as handle:
        assert len(list(csv.DictReader(handle))) == 2  # the quick preset's two cycles
    info = read_json(out / "run_info.json")
    assert info["seed"] == 42 and info["versions"]["torch"].startswith("2.13.0")
    assert "Phase 3: training" in info["commands"][-1]["seconds"]
    assert report.stat().st_size > 10_000
