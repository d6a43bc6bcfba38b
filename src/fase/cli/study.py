"""``fase study --datasets a,b,…``: the pipeline on several cities, one cross-city report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fase.cli.options import (
    ConfigOpt,
    DeviceOpt,
    PresetOpt,
    SeedOpt,
    build_config,
    check_device,
    check_out,
)
from fase.rundir import new_run_dir


def study_command(
    datasets: Annotated[
        str,
        typer.Option(
            help="Comma-separated datasets (names of `fase datasets list`, or YAML files), "
            "each fetched first."
        ),
    ],
    config: ConfigOpt = None,
    preset: PresetOpt = None,
    seed: SeedOpt = None,
    out: Annotated[
        Path | None, typer.Option(help="Study directory (default: runs/study/<timestamp>).")
    ] = None,
    device: DeviceOpt = None,
) -> None:
    """Run every phase on each city and write one cross-city report of the findings."""
    from fase.errors import FaseInputError
    from fase.phases.study import run_study

    names = [name.strip() for name in datasets.split(",") if name.strip()]
    if not names:
        raise FaseInputError("--datasets", "name at least one dataset")
    if len(set(names)) != len(names):
        raise FaseInputError("--datasets", "a dataset is named twice")
    check_out(out)
    overrides = {} if device is None else {"training": {"device": check_device(device)}}
    configs = [build_config(name, preset, config, seed, overrides) for name in names]
    for cfg in configs:
        check_device(cfg.training.device)
    cities = [cfg.dataset.name for cfg in configs]
    if len(set(cities)) != len(cities):
        raise FaseInputError("--datasets", f"two datasets share a name: {cities}")
    out_dir = out if out is not None else new_run_dir(root="runs/study")
    console = Console(stderr=True)
    console.print(f"[bold]fase study[/bold]: {', '.join(cities)} → {out_dir}")
    result = run_study(configs, out_dir, say=lambda msg: console.print(f"  {msg}"))
    typer.echo(f"cross-city report: {result.report}")
