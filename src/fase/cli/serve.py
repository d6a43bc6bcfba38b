"""``fase serve RUN_DIR``: the live forecasting service (HTTP API and live map)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fase.cli.options import DeviceOpt, check_device
from fase.serve.settings import (
    BODY_TIMEOUT_S,
    DEFAULT_QUORUM,
    DEFAULT_RATE_LIMIT,
    KEEP_ALIVE_S,
    MAX_CONNECTIONS,
)


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
    quorum: Annotated[
        int,
        typer.Option(
            min=1,
            help="Stored incidents that must reach a bin before the forecast period moves "
            "past it (one stray future-dated record cannot move it).",
        ),
    ] = DEFAULT_QUORUM,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            help="Host header the service answers to (repeatable; others get 400). Default: "
            "127.0.0.1 and localhost on loopback, the --host address otherwise, any host "
            "when listening on all interfaces.",
        ),
    ] = None,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(help="Origin browsers may call the API from (repeatable); default: none."),
    ] = None,
    rate_limit: Annotated[
        float,
        typer.Option(min=0, help="Requests per second per client address; 0: no limit."),
    ] = DEFAULT_RATE_LIMIT,
    device: DeviceOpt = None,
    body_timeout: Annotated[
        float,
        typer.Option(min=0.1, help="Seconds a request body may stall before the request gets 408."),
    ] = BODY_TIMEOUT_S,
) -> None:
    """Serve RUN_DIR over HTTP: POST incidents, GET the next period's forecast, patrols and
    fairness, and the live map at /. Stops on Ctrl-C; accepted incidents are on disk.
    Listening beyond this machine (--host other than 127.0.0.1) needs an API key."""
    import uvicorn

    from fase.errors import FaseInputError
    from fase.rundir import RunDir
    from fase.runtime import configure_threads
    from fase.serve import create_app, default_db
    from fase.serve.security import default_allowed_hosts, read_token, require_key_off_loopback

    token = read_token(token_file)
    require_key_off_loopback(host, token)
    if protect_reads and token is None:
        raise FaseInputError(
            "--protect-reads", "needs an API key (--token-file or FASE_SERVE_TOKEN)"
        )
    training = RunDir(run_dir).load_config().training
    device = check_device(device or training.device)
    configure_threads(threads or training.threads)
    app = create_app(
        run_dir,
        db,
        period=period,
        quorum=quorum,
        device=device,
        token=token,
        protect_reads=protect_reads,
        allowed_hosts=allowed_host or default_allowed_hosts(host),
        cors_origins=cors_origin or (),
        rate_limit=rate_limit or None,
        body_timeout=body_timeout,
    )
    keyed = "writes need the API key" if token else "no API key: writes are open to this machine"
    typer.echo(
        f"serving {run_dir} on http://{host}:{port}/ ({keyed}; incidents: "
        f"{db or default_db(run_dir)})"
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_S,
        limit_concurrency=MAX_CONNECTIONS,
    )
