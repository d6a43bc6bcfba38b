"""``fase federated``: federated training over districts (Flower, simulation mode) and its
gap to centralised training on the same data and budget."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from fase.cli.options import (
    CityFiles,
    ConfigOpt,
    DatasetOpt,
    DemographicsOpt,
    IncidentsOpt,
    PolygonsOpt,
    PresetOpt,
    SeedOpt,
    build_config,
)
from fase.errors import FaseInputError


def flower_installed() -> bool:
    """Whether Flower (the ``federated`` extra) can be imported."""
    return importlib.util.find_spec("flwr") is not None


def federated_command(
    clients: Annotated[
        int | None,
        typer.Option(min=2, help="Clients: districts of contiguous areas (default: 4)."),
    ] = None,
    rounds: Annotated[
        int | None, typer.Option(min=1, help="Federated rounds (default: 5).")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(help="Neural model whose weights are shared by all areas (default: dnn)."),
    ] = None,
    strategy: Annotated[
        str | None, typer.Option(help="fedavg or fedprox (default: fedavg).")
    ] = None,
    mu: Annotated[
        float | None,
        typer.Option(help="FedProx proximal weight μ ≥ 0 (default 0.01; fedprox only)."),
    ] = None,
    local_epochs: Annotated[
        int | None,
        typer.Option("--local-epochs", min=1, help="Epochs each client trains per round (1)."),
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="Small model, every 8th window: a smoke run.")
    ] = False,
    backend: Annotated[
        str | None,
        typer.Option(
            help="inprocess (clients one by one in this process, the default) or ray "
            "(Flower's Ray backend: training.threads actors in parallel)."
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Show Flower's and Ray's logs.")
    ] = False,
    config: ConfigOpt = None,
    dataset: DatasetOpt = None,
    incidents: IncidentsOpt = None,
    polygons: PolygonsOpt = None,
    demographics: DemographicsOpt = None,
    preset: PresetOpt = None,
    seed: SeedOpt = None,
    out: Annotated[
        Path | None, typer.Option(help="Output directory (default: runs/federated/<timestamp>).")
    ] = None,
) -> None:
    """Federate a forecaster over districts with Flower; compare with centralised training.

    Settings not given as options come from the config's ``federated`` section.
    """
    if not flower_installed():
        raise FaseInputError(
            "fase federated",
            "Flower (flwr) is not installed",
            "install the federated extra: pip install -e '.[federated]' (make does)",
        )
    from fase.config import FederatedConfig
    from fase.federated.local import LocalSetup, neural_forecaster
    from fase.forecasters import forecaster_settings, require_models
    from fase.phases.federated import run_federated
    from fase.rundir import RunDir, new_run_dir

    cfg = build_config(
        dataset, preset, config, seed, {}, files=CityFiles(incidents, polygons, demographics)
    )
    given = {
        "clients": clients,
        "rounds": rounds,
        "model": model,
        "strategy": strategy,
        "mu": mu,
        "local_epochs": local_epochs,
        "backend": backend,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    try:
        settings = FederatedConfig.model_validate({**cfg.federated.model_dump(), **changes})
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "strategy"
        option = f"--{field.replace('_', '-')}"
        if error["type"] == "literal_error":
            expected = error["ctx"]["expected"]
            raise FaseInputError(
                option, f"unknown {field} {error['input']!r}", f"use {expected}"
            ) from None
        raise FaseInputError(option, error["msg"]) from None
    if mu is not None and settings.strategy != "fedprox":
        raise FaseInputError("--mu", "applies to --strategy fedprox only", "leave --mu out")
    require_models([settings.model], "--model", deployable=True)
    neural_forecaster(LocalSetup(settings.model, forecaster_settings(cfg), cfg.seed))
    cfg = cfg.model_copy(update={"federated": settings})
    out_dir = out if out is not None else new_run_dir(root="runs/federated")
    console = Console(stderr=True)
    console.print(
        f"[bold]fase federated[/bold]: {settings.model} over {settings.clients} clients on "
        f"{cfg.dataset.name} → {out_dir}"
    )
    run_federated(
        cfg, out_dir, quick=quick, say=lambda msg: console.print(f"  {msg}"), verbose=verbose
    )
    summary = RunDir(out_dir).federated_summary_md
    typer.echo(summary.read_text(encoding="utf-8"))
    typer.echo(f"summary: {summary}")
