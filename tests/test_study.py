"""``fase study``: two small cities of our own through the whole pipeline, one cross-city
report whose numbers are each city's own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml
from tests.helpers.city import TINY_TRAINING, write_city
from tests.simulation.trained_run import incidents
from typer.testing import CliRunner

from fase.cli import app


def city_yaml(root: Path, name: str) -> Path:
    """A dataset YAML (not a run config) for a tiny grid city called ``name``."""
    city = write_city(root, incidents(), "2021-03-01", "2021-03-21", tz="UTC")
    dataset = yaml.safe_load(city.config.read_text())["dataset"]
    dataset["name"] = name
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(dataset))
    return path


def test_two_cities_one_report(tmp_path: Path) -> None:
    north, south = city_yaml(tmp_path / "n", "north"), city_yaml(tmp_path / "s", "south")
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({**TINY_TRAINING, "seed": 7}))
    out = tmp_path / "study"
    result = CliRunner().invoke(
        app,
        ["study", "--datasets", f"{north},{south}", "--preset", "quick",
         "--config", str(config), "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"cross-city report: {out / 'study_report.html'}" in result.output
    table = pd.read_csv(out / "study_findings.csv")
    assert set(table["city"]) == {"north", "south"}
    page = (out / "study_report.html").read_text(encoding="utf-8")
    for city in ("north", "south"):
        assert (out / city / "report" / "report.html").is_file()
        replicates = pd.read_csv(next((out / city / "simulation").glob("*/history_replicates.csv")))
        last = replicates[replicates["cycle"] == replicates["cycle"].max()]
        values = last.sort_values("replicate")["detection_gap"].to_numpy()
        lo, hi = np.quantile(values, [0.025, 0.975])
        shown = f"{values.mean():+.4f} [{lo:+.4f}, {hi:+.4f}]"
        row = table[(table["city"] == city) & (table["metric"] == "detection gap")].iloc[0]
        assert row["last cycle"] == shown and shown in page
        assert f"Findings: {city}" in page


def test_a_city_not_fetched_fails_before_anything_runs(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FASE_DATA_ROOT", str(tmp_path / "empty"))
    out = tmp_path / "study"
    result = CliRunner().invoke(app, ["study", "--datasets", "chicago,nyc", "--out", str(out)])
    assert result.exit_code == 2
    assert "fase datasets fetch nyc" in result.output
    assert not (out / "chicago").exists()  # chicago (embedded) did not run first
    twice = CliRunner().invoke(app, ["study", "--datasets", "chicago,chicago"])
    assert twice.exit_code == 2 and "named twice" in twice.output


def test_a_missing_or_unknown_device_fails_before_anything_runs(tmp_path: Path) -> None:
    out = tmp_path / "study"
    for device, message in (("tpu", "unknown device 'tpu'"), ("cuda", "torch sees no GPU")):
        if device == "cuda" and torch.cuda.is_available():
            continue
        args = ["study", "--datasets", "chicago", "--device", device, "--out", str(out)]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2 and message in result.output, result.output
        assert not out.exists()
