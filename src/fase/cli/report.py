"""``fase report RUN_DIR``: figures, maps and one self-contained HTML report of a run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def report_command(
    run_dir: Annotated[
        Path, typer.Argument(help="Run directory (from `fase data`, and later phases if run).")
    ],
    all_scenarios: Annotated[
        bool,
        typer.Option(
            "--all-scenarios",
            help="Also draw the figures and maps of every policy-study variant (slower).",
        ),
    ] = False,
) -> None:
    """Draw the figures and maps the run has artefacts for; write RUN_DIR/report/report.html."""
    from fase.report.build import build_report
    from fase.rundir import RunDir

    path = build_report(run_dir, all_scenarios=all_scenarios)
    RunDir(run_dir).log_command("fase report")
    typer.echo(f"wrote {path}")
