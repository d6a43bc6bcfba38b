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
    token_file: Annotated[
        Path | None,
        typer.Option(
            help="File whose first line is the API key writes must carry "
            "(Authorization: Bearer KEY); default: $FASE_SERVE_TOKEN, else no key."
        ),
    ] = None,
    protect_reads: Annotated[
        bool,
        typer.Option("--protect-reads", help="Require the API key for reads too (not /health)."),
    ] = False,
) -> None:
    """Serve RUN_DIR over HTTP: POST incidents, GET the next period's forecast, patrols and
    fairness, and the live map at /. Stops on Ctrl-C; accepted incidents are on disk.
    Listening beyond this machine (--host other than 127.0.0.1) needs an API key."""
    import uvicorn

    from fase.errors import FaseInputError
    from fase.rundir import RunDir
    from fase.runtime import configure_threads
    from fase.serve import create_app, default_db
    from fase.serve.security import read_token, require_key_off_loopback

    token = read_token(token_file)
    require_key_off_loopback(host, token)
    if protect_reads and token is None:
        raise FaseInputError(
            "--protect-reads", "needs an API key (--token-file or FASE_SERVE_TOKEN)"
        )
    configure_threads(threads or RunDir(run_dir).load_config().training.threads)
    app = create_app(run_dir, db, period=period, token=token, protect_reads=protect_reads)
    keyed = "writes need the API key" if token else "no API key: writes are open to this machine"
    typer.echo(
        f"serving {run_dir} on http://{host}:{port}/ ({keyed}; incidents: "
        f"{db or default_db(run_dir)})"
    )
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
