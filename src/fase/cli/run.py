"""``fase run``: Phases 1 → 5 and the report on the embedded data (or a config)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from fase.cli.options import (
    CityFiles,
    ConfigOpt,
    DatasetOpt,
    DemographicsOpt,
    DeviceOpt,
    IncidentsOpt,
    ModelOpt,
    PolygonsOpt,
    PresetOpt,
    SeedOpt,
    build_config,
    check_device,
    check_out,
)
from fase.rundir import new_run_dir


def run_command(
    config: ConfigOpt = None,
    dataset: DatasetOpt = None,
    incidents: IncidentsOpt = None,
    polygons: PolygonsOpt = None,
    demographics: DemographicsOpt = None,
    preset: PresetOpt = None,
    seed: SeedOpt = None,
    model: ModelOpt = None,
    out: Annotated[
        Path | None, typer.Option(help="Run directory (default: runs/<timestamp>).")
    ] = None,
    threads: Annotated[int | None, typer.Option(help="CPU threads for torch (default: 2).")] = None,
    epochs: Annotated[
        int | None,
        typer.Option(min=1, help="Training epochs (default: the preset's; 100 to converge)."),
    ] = None,
    device: DeviceOpt = None,
) -> None:
    """The whole pipeline: data, graph, training, evaluation, allocation, simulation, report."""
    from fase.phases.run import run_pipeline

    training = {"threads": threads, "epochs": epochs, "device": device}
    overrides = {"training": {k: v for k, v in training.items() if v is not None}}
    files = CityFiles(incidents, polygons, demographics)
    check_out(out)
    if device is not None:
        check_device(device)
    cfg = build_config(dataset, preset, config, seed, overrides, model, files)
    check_device(cfg.training.device)  # also one a --config names: refused before any work
    run_dir = out if out is not None else new_run_dir()
    console = Console(stderr=True)
    console.print(
        f"[bold]fase run[/bold]: preset {cfg.preset}, dataset {cfg.dataset.name}, "
        f"model {cfg.forecaster}, device {cfg.training.device} → {run_dir}"
    )
    result = run_pipeline(cfg, run_dir, say=lambda msg: console.print(f"  {msg}"))

    table = Table(title="Wall time per phase")
    table.add_column("phase")
    table.add_column("seconds", justify="right")
    for name, value in result.seconds.items():
        table.add_row(name, f"{value:.1f}")
    table.add_row("total", f"{sum(result.seconds.values()):.1f}")
    console.print(table)
    for label, value in result.headline.items():
        console.print(f"  {label}: {value}")
    typer.echo(f"report: {result.report}")
