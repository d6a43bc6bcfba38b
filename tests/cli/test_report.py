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
