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
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Registered model to train, allocate on, simulate and serve "
        "(default: the config's forecaster, fase; `fase compare --list`).",
    ),
]


def build_config(
    dataset: str | None,
    preset: str | None,
    config: Path | None,
    seed: int | None,
    overrides: dict[str, Any],
    model: str | None = None,
) -> RunConfig:
    """Load the config with CLI overrides applied last; ``model`` names the forecaster."""
    from fase.forecasters import require_models

    if seed is not None:
        overrides = {**overrides, "seed": seed}
    if model is not None:
        require_models([model], "--model")
        overrides = {**overrides, "forecaster": model}
    cfg = load_config(dataset=dataset, preset=preset, config_path=config, overrides=overrides)
    require_models([cfg.forecaster], "forecaster")
    return cfg
