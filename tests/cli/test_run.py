"""``fase run --device``: the one device setting reaches the resolved config, training and
the simulation; a device the machine lacks is refused before any work."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from tests.helpers.city import write_city
from tests.simulation.trained_run import incidents
from typer.testing import CliRunner

from fase.cli import app
from fase.io import read_json


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("run-city")
    return write_city(root, incidents(), "2021-03-01", "2021-03-21", tz="UTC").config


def test_device_reaches_the_config_and_the_simulation(city: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["run", "--config", str(city), "--preset", "quick", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--model", "historical_average", "--device", "auto"])
    assert result.exit_code == 0, result.output
    assert "device auto" in result.output
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["training"]["device"] == "auto"
    settings = read_json(next((out / "simulation").glob("*/history.json")))["settings"]
    assert settings["device"] == ("cuda:0" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize(
    ("device", "message"),
    [("tpu", "error: --device: unknown device 'tpu'"), ("cuda", "torch sees no GPU")],
)
def test_an_unknown_or_missing_device_is_refused_before_any_work(
    city: Path, tmp_path: Path, device: str, message: str
) -> None:
    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    out = tmp_path / "run"
    args = ["run", "--config", str(city), "--preset", "quick", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--device", device])
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output and not out.exists()
