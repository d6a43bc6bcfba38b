"""``fase data``: Phases 1–2 on the embedded default, a fetched dataset or the user's files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markdown import Markdown

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
    check_out,
)
from fase.rundir import RunDir, new_run_dir


def data_command(
    incidents: IncidentsOpt = None,
    polygons: PolygonsOpt = None,
    demographics: DemographicsOpt = None,
    config: ConfigOpt = None,
    dataset: DatasetOpt = None,
    preset: PresetOpt = None,
    seed: SeedOpt = None,
    out: Annotated[
        Path | None, typer.Option(help="Run directory (default: runs/<timestamp>).")
    ] = None,
) -> None:
    """Build the feature tensors and hybrid graph; print and save the dataset and graph tables."""
    from fase.phases.data import run_data_phases

    console = Console(stderr=True)
    check_out(out)
    files = CityFiles(incidents, polygons, demographics)
    cfg = build_config(dataset, preset, config, seed, {}, files=files)
    run_dir = out if out is not None else new_run_dir()
    check_out(run_dir, create=True)
    with console.status("Phase 1–2") as status:
        result = run_data_phases(cfg, run_dir, lambda msg: status.update(f"Phase 1–2: {msg}"))
    RunDir(run_dir).record(cfg, "fase data", {"seconds": result.seconds})
    out_console = Console()
    out_console.print(Markdown(result.dataset_table))
    out_console.print(Markdown(result.graph_table))
    for warning in result.phase1.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    times = ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
    console.print(f"[green]wrote[/green] {run_dir} ({times})")
