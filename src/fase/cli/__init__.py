"""The ``fase`` command line: one module per command, thin over the library.

Bad input never produces a traceback: :class:`fase.errors.FaseInputError` is printed
as ``error: <file>: <problem>`` with a hint, exit status 2. Unexpected failures print
one line and exit 1 (set ``FASE_DEBUG=1`` to see the traceback).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import typer

try:  # newer typer (0.29) carries its own copy of click, whose exceptions derive from these
    from typer.exceptions import Abort, Exit, TyperException
except ModuleNotFoundError:  # typer < 0.21, which Flower needs (requirements-lock.txt): click's
    from click.exceptions import Abort, Exit
    from click.exceptions import ClickException as TyperException

from fase.errors import FaseInputError

INTERRUPTED = 130  # the shell's status for a command stopped by SIGINT (128 + 2)


def reports_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a command so that input errors become one clear message and an exit status."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except FaseInputError as exc:
            typer.secho(f"error: {exc.source}: {exc.problem}", err=True, fg="red")
            if exc.hint:
                typer.echo(f"  hint: {exc.hint}", err=True)
            raise Exit(2) from None
        except KeyboardInterrupt:
            typer.secho("interrupted: every file written so far is complete (atomic writes)",
                        err=True, fg="red")  # fmt: skip
            typer.echo(
                "  run the command again; `fase train --resume RUN_DIR` continues a training "
                "run from its last epoch",
                err=True,
            )
            raise Exit(INTERRUPTED) from None
        except (Exit, Abort, TyperException):
            raise
        except Exception as exc:
            if os.environ.get("FASE_DEBUG"):
                raise
            typer.secho(f"internal error: {type(exc).__name__}: {exc}", err=True, fg="red")
            typer.echo(
                "  rerun with FASE_DEBUG=1 for the traceback, and please report it", err=True
            )
            raise Exit(1) from None

    return wrapper


app = typer.Typer(
    help="FASE: audit predictive policing: forecast, allocate patrols, simulate feedback.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    from fase.cli.allocate import allocate_command
    from fase.cli.compare import compare_command
    from fase.cli.data import data_command
    from fase.cli.federated import federated_command
    from fase.cli.report import report_command
    from fase.cli.run import run_command
    from fase.cli.serve import serve_command
    from fase.cli.simulate import simulate_command
    from fase.cli.study import study_command
    from fase.cli.train import evaluate_command, train_command

    commands = {
        "run": (run_command, "Phases 1–5 and the HTML report (embedded Chicago data by default)."),
        "data": (
            data_command,
            "Phases 1–2: incidents → tensors and hybrid graph (embedded Chicago data by default).",
        ),
        "train": (train_command, "Phase 3: train the FASE predictor and forecast val/test."),
        "evaluate": (evaluate_command, "Phase 3: score a run's test forecast."),
        "allocate": (
            allocate_command,
            "Phase 4: fairness-constrained patrol allocation for a run's forecasts.",
        ),
        "simulate": (simulate_command, "Phase 5: the deployment feedback simulator."),
        "report": (report_command, "Figures, maps and the self-contained HTML report of a run."),
        "compare": (
            compare_command,
            "Model zoo: baselines, DNN, LSTM, GAT+TCN and FASE variants on one leaderboard.",
        ),
        "federated": (
            federated_command,
            "Federated training over districts with Flower (simulation mode); gap to "
            "centralised training.",
        ),
        "study": (
            study_command,
            "Every phase on several cities (fetched first) and one cross-city report.",
        ),
        "serve": (
            serve_command,
            "Live forecasting service: HTTP API for incidents, next-period forecast, patrols "
            "and fairness, and a live map.",
        ),
    }
    for name, (function, help_text) in commands.items():
        app.command(name, help=help_text)(reports_errors(function))

    from fase.cli.datasets import fetch_command, list_command

    datasets = typer.Typer(
        help="The cities you can get: list them, fetch one from its public sources.",
        no_args_is_help=True,
    )
    datasets.command("list", help="Every dataset, its files, sources and checksums.")(
        reports_errors(list_command)
    )
    datasets.command("fetch", help="Download a dataset's files (verified, resumable).")(
        reports_errors(fetch_command)
    )
    app.add_typer(datasets, name="datasets")


_register()


def main() -> None:
    """Console-script entry point."""
    app()
