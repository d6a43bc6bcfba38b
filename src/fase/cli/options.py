"""Options shared by several commands, and the config they build."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from fase.config import RunConfig, load_config
from fase.data.parquet import is_url
from fase.errors import FaseInputError

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


DeviceOpt = Annotated[
    str | None,
    typer.Option(
        "--device",
        help="cpu, cuda or auto (cuda when torch sees a GPU): where the model trains, "
        "forecasts and retrains in the simulation (default: training.device, cpu).",
    ),
]


IncidentsOpt = Annotated[
    str | None,
    typer.Option(
        "--incidents",
        help="Your incident file: a CSV (or .csv.gz), a Parquet file or folder, or an fsspec "
        "URL (s3://…). A portal export (Chicago, NYPD, LAPD, Open Baltimore) is recognised "
        "by its header; describe any other file in --config.",
    ),
]
PolygonsOpt = Annotated[
    Path | None,
    typer.Option(
        "--polygons", help="Your area polygons (GeoJSON, shapefile, zip); ids: areas.id_column."
    ),
]
DemographicsOpt = Annotated[
    Path | None,
    typer.Option(
        "--demographics", help="Your ACS-style demographics table; columns: the demographics keys."
    ),
]


@dataclass(frozen=True)
class CityFiles:
    """Files given on the command line in place of the dataset's own."""

    incidents: str | None = None
    polygons: Path | None = None
    demographics: Path | None = None

    def overrides(self) -> dict[str, Any]:
        """The dataset paths they replace (absolute; an fsspec URL is kept as it is)."""
        dataset: dict[str, Any] = {}
        if self.incidents is not None:
            local = not is_url(self.incidents)
            dataset["incidents"] = {
                "path": _existing(self.incidents, "--incidents") if local else self.incidents
            }
        if self.polygons is not None:
            dataset["areas"] = {"path": _existing(self.polygons, "--polygons", folder=False)}
        if self.demographics is not None:
            dataset["demographics"] = {
                "path": _existing(self.demographics, "--demographics", folder=False)
            }
        return dataset


def _existing(path: str | Path, option: str, folder: bool = True) -> str:
    """``path`` made absolute; it must exist, and be a file unless ``folder``."""
    path = Path(path)
    if not path.exists():
        raise FaseInputError(path, f"file given with {option} not found")
    if not folder and path.is_dir():
        raise FaseInputError(path, f"given with {option} is a folder", "give the file itself")
    return str(path.resolve())


def check_seed(seed: int) -> None:
    """Refuse a ``--seed`` that no random generator takes."""
    from fase.config.method import MAX_SEED

    if not 0 <= seed <= MAX_SEED:
        raise FaseInputError("--seed", f"{seed} is out of range", f"use 0 to {MAX_SEED}")


def check_device(device: str) -> str:
    """Refuse a device that is unknown, or that this machine lacks (``cuda`` without a
    GPU), before any work starts; returns ``device`` (a name of
    :data:`fase.training.distributed.DEVICES`)."""
    from fase.training.distributed import DEVICES, resolve_device

    if device not in DEVICES:
        raise FaseInputError("--device", f"unknown device {device!r}", f"use one of {DEVICES}")
    resolve_device(device)  # cuda without a GPU: FaseInputError
    return device


def check_out(out: Path | None, create: bool = False) -> None:
    """Refuse an ``--out`` that is a file (or lies under one); create the folder if asked."""
    if out is None:
        return
    if out.exists() and not out.is_dir():
        raise FaseInputError("--out", f"{out} is a file, not a folder", "give a folder for the run")
    if create:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FaseInputError(
                "--out", f"cannot create the folder {out} ({exc.strerror})"
            ) from None


def build_config(
    dataset: str | None,
    preset: str | None,
    config: Path | None,
    seed: int | None,
    overrides: dict[str, Any],
    model: str | None = None,
    files: CityFiles = CityFiles(),
) -> RunConfig:
    """Load the config with the command line's options applied last and resolve its
    dataset (:func:`fase.data.resolve.resolve_dataset`); ``model`` names the forecaster,
    ``files`` replace the dataset's own."""
    from fase.data.resolve import resolve_dataset
    from fase.forecasters import require_models

    if seed is not None:
        check_seed(seed)
        overrides = {**overrides, "seed": seed}
    if model is not None:
        require_models([model], "--model", deployable=True)
        overrides = {**overrides, "forecaster": model}
    city = files.overrides()
    if city:
        overrides = {**overrides, "dataset": city}
    cfg = load_config(dataset=dataset, preset=preset, config_path=config, overrides=overrides)
    require_models([cfg.forecaster], "forecaster", deployable=True)
    return resolve_dataset(cfg)
