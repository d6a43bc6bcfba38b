"""``fase data``: Phases 1–2 on the embedded default or on the user's files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markdown import Markdown

from fase.cli.options import ConfigOpt, DatasetOpt, PresetOpt, SeedOpt, build_config
from fase.data.parquet import is_url
from fase.errors import FaseInputError
from fase.rundir import RunDir, new_run_dir


def path_overrides(
    incidents: str | None, polygons: Path | None, demographics: Path | None
) -> dict[str, Any]:
    """Dataset overrides for files given on the command line (absolute paths; the
    incidents may also be an fsspec URL such as ``s3://bucket/incidents/``, kept as is)."""
    dataset: dict[str, Any] = {}
    if incidents is not None and is_url(incidents):
        dataset["incidents"] = {"path": incidents}
        incidents = None
    for key, value in (
        ("incidents", None if incidents is None else Path(incidents)),
        ("areas", polygons),
        ("demographics", demographics),
    ):
        if value is not None:
            if not value.exists():
                raise FaseInputError(
                    value, f"file given with --{'polygons' if key == 'areas' else key} not found"
                )
            dataset[key] = {"path": str(value.resolve())}
    return {"dataset": dataset} if dataset else {}


def data_command(
    incidents: Annotated[
        str | None,
        typer.Option(
            help="Incidents: a CSV, a Parquet file or dataset directory, or an fsspec URL "
            "(s3://…, gs://…; format from the dataset/config)."
        ),
    ] = None,
    polygons: Annotated[
        Path | None, typer.Option(help="Area polygons (GeoJSON, shapefile, zip).")
    ] = None,
    demographics: Annotated[Path | None, typer.Option(help="ACS-style demographics table.")] = None,
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
    overrides = path_overrides(incidents, polygons, demographics)
    cfg = build_config(dataset, preset, config, seed, overrides)
    run_dir = out if out is not None else new_run_dir()
    run_dir.mkdir(parents=True, exist_ok=True)
    with console.status("Phase 1–2") as status:
        result = run_data_phases(cfg, run_dir, lambda msg: status.update(f"Phase 1–2: {msg}"))
    RunDir(run_dir).record(cfg, "fase data", {"seconds": result.seconds})
    out_console = Console()
    out_console.print(Markdown(result.dataset_table))
    out_console.print(Markdown(result.graph_table))
    times = ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
    console.print(f"[green]wrote[/green] {run_dir} ({times})")
