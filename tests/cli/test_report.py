"""``report_command`` through typer's CliRunner, wrapped as ``fase`` wraps it."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from tests.report.fake_run import TRAINING_LOG, write_phase12
from typer.testing import CliRunner

from fase.cli import reports_errors
from fase.cli.report import report_command


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.command("report")(reports_errors(report_command))
    return app


def test_writes_the_report(app: typer.Typer, tmp_path: Path) -> None:
    write_phase12(tmp_path)
    TRAINING_LOG.to_csv(tmp_path / "training_log.csv", index=False)
    result = CliRunner().invoke(app, [str(tmp_path)])
    assert result.exit_code == 0, result.output
    report = tmp_path / "report" / "report.html"
    assert result.output.strip() == f"wrote {report}"
    assert "Training and validation loss per epoch" in report.read_text(encoding="utf-8")
    for suffix in (".png", ".pdf"):
        assert (tmp_path / "report" / "figures" / f"loss_curve{suffix}").is_file()


def test_missing_run_directory_is_an_input_error(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "run directory not found" in result.output
    assert "fase data --out DIR" in result.output


def test_a_broken_artefact_is_named(app: typer.Typer, tmp_path: Path) -> None:
    write_phase12(tmp_path)
    (tmp_path / "forecast").mkdir()
    (tmp_path / "forecast" / "forecast.npz").write_text("not an npz")
    result = CliRunner().invoke(app, [str(tmp_path)])
    assert result.exit_code == 2
    assert "forecast.npz: cannot be read as a NumPy .npz file" in result.output
    assert not (tmp_path / "report" / "report.html").exists()


def test_every_command_that_touched_the_run_is_in_its_history(tmp_path) -> None:
    """A run made of separate commands: each one is logged in run_info.json and the
    report's Commands table lists those before it."""
    from tests.simulation.trained_run import write_trained_run
    from typer.testing import CliRunner

    from fase.cli import app
    from fase.io import read_json

    run_dir = write_trained_run(tmp_path / "made")
    runner = CliRunner()
    for args in (["evaluate", str(run_dir)], ["allocate", str(run_dir)], ["report", str(run_dir)]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    commands = [c["command"] for c in read_json(run_dir / "run_info.json")["commands"]]
    assert commands[-3:] == ["fase evaluate", "fase allocate", "fase report"]
    page = (run_dir / "report" / "report.html").read_text(encoding="utf-8")
    assert "<td>fase evaluate</td>" in page and "<td>fase allocate</td>" in page
