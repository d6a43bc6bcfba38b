"""Options shared by several commands, and the config they build."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from fase.config import RunConfig, load_config

DatasetOpt = Annotated[
    str | None,
    typer.Option(
        "--dataset", "-d", help="Shipped dataset (chicago, baltimore, nyc, la-westla) or YAML."
    ),
]
PresetOpt = Annotated[
    str | None, typer.Option("--preset", "-p", help="Method preset: default, paper or quick.")
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML with dataset, preset and section overrides."),
]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Random seed (overrides the preset).")]
ThreadsOpt = Annotated[
    int, typer.Option("--threads", help="CPU threads for torch and BLAS (default: 2).")
]


def build_config(
    dataset: str | None,
    preset: str | None,
    config: Path | None,
    seed: int | None,
    overrides: dict[str, Any],
) -> RunConfig:
    """Load the config with CLI overrides applied last."""
    if seed is not None:
        overrides = {**overrides, "seed": seed}
    return load_config(dataset=dataset, preset=preset, config_path=config, overrides=overrides)
