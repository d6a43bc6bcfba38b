"""``fase datasets list`` and ``fase datasets fetch NAME``: the cities a user can get."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table


def list_command() -> None:
    """Every dataset: city, period, resolution, size, licence, status; then each fetched
    file with its upstream source and SHA-256 (of its uncompressed content)."""
    from fase.catalog import list_datasets

    console = Console()
    infos = list_datasets()
    table = Table(
        title="Datasets (fase run --dataset NAME; benchmarks: fase compare --benchmark NAME)"
    )
    for column in ("name", "city", "period", "resolution", "size", "licence", "status"):
        table.add_column(column, overflow="fold")
    for info in infos:
        ds = info.dataset
        table.add_row(
            info.name,
            ds.city,
            info.period,
            info.resolution,
            f"{info.size_bytes / 1e6:.1f} MB",
            ds.licence,
            info.status,
        )
    console.print(table)
    files = Table(title="Files fetched by `fase datasets fetch NAME`")
    for column in ("dataset", "file", "bytes", "sha256", "upstream source"):
        files.add_column(column, overflow="fold")
    for info in infos:
        for file in info.dataset.files:
            source = f"{file.source}\n{file.url}" if file.source else file.url
            files.add_row(info.name, file.path, f"{file.bytes:,}", file.sha256, source)
    console.print(files)
    console.print(
        "Fetched files go to the data folder: $FASE_DATA_ROOT, else the user cache. "
        "$FASE_DATA_MIRROR (a base URL or folder) replaces the upstream hosts."
    )


def fetch_command(
    name: Annotated[
        str,
        typer.Argument(help="Dataset to fetch (see `fase datasets list`), or a dataset YAML."),
    ],
    progress: Annotated[
        bool | None,
        typer.Option("--progress/--no-progress", help="Progress bars (default: on a terminal)."),
    ] = None,
) -> None:
    """Download a dataset's files from their public upstream sources (or the mirror),
    verify their checksums and keep them in the data folder. Resumes a broken download."""
    from fase.catalog import fetch_dataset
    from fase.config.loader import available_benchmarks

    paths = fetch_dataset(name, say=typer.echo, progress=progress)
    command = "compare --benchmark" if name in available_benchmarks() else "run --dataset"
    typer.echo(f"{name}: {len(paths)} file(s) ready; run it with `fase {command} {name}`")
