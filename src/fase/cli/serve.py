"""``fase serve RUN_DIR``: the live forecasting service (HTTP API and live map)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def serve_command(
    run_dir: Annotated[
        Path, typer.Argument(help="A run trained with `fase train` (any model; its model/).")
    ],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8000,
    db: Annotated[
        Path | None,
        typer.Option(
            help="SQLite file of accepted incidents (default RUN_DIR/serve/incidents.sqlite)."
        ),
    ] = None,
    period: Annotated[
        str | None,
        typer.Option(help="Forecast period, e.g. 1d (default: the run's simulation.period)."),
    ] = None,
    threads: Annotated[
        int | None, typer.Option(min=1, help="CPU threads for torch (default: training.threads).")
    ] = None,
) -> None:
    """Serve RUN_DIR over HTTP: POST incidents, GET the next period's forecast, patrols and
    fairness, and the live map at /. Stops on Ctrl-C; accepted incidents are on disk."""
    import uvicorn

    from fase.rundir import RunDir
    from fase.runtime import configure_threads
    from fase.serve import create_app, default_db

    configure_threads(threads or RunDir(run_dir).load_config().training.threads)
    app = create_app(run_dir, db, period=period)
    typer.echo(
        f"serving {run_dir} on http://{host}:{port}/ (incidents: {db or default_db(run_dir)})"
    )
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
