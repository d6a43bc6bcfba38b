"""Completing a dataset before Phase 1 reads it: its fetched files are there, the format
of an incident file given as ``format: auto`` is recognised by its header, and a study
period left open (``calendar`` None) is the span of the file's own incidents.

The resolved dataset is what a run records in its ``config.yaml``, so later commands on
the run read the same files the same way without looking again.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fase.config import Calendar, DatasetConfig, RunConfig
from fase.config.loader import data_root
from fase.data.incident_csv import first_rows
from fase.data.incident_formats import detect_format
from fase.data.incidents import IncidentStream
from fase.data.parquet import is_url, looks_like_parquet, parquet_columns
from fase.errors import FaseInputError
from fase.progress import Say, silent

OPEN_CALENDAR = Calendar(start=dt.date(1900, 1, 1), end=dt.date(2200, 1, 1))


def resolve_dataset(cfg: RunConfig, say: Say = silent) -> RunConfig:
    """``cfg`` with a dataset ready to read (module docstring); unchanged when it is."""
    ds = cfg.dataset
    require_fetched(ds)
    if ds.incidents.format == "auto":
        say("recognising the incident file's format")
        found = recognise_format(ds)
        ds = ds.model_copy(update={"incidents": ds.incidents.model_copy(update={"format": found})})
    if ds.calendar is None:
        say("finding the study period of the incidents")
        ds = ds.model_copy(update={"calendar": observed_calendar(ds)})
    return cfg if ds is cfg.dataset else cfg.model_copy(update={"dataset": ds})


def dataset_paths(ds: DatasetConfig) -> list[str]:
    """Every file the dataset reads (incidents, areas, demographics, territory)."""
    paths = [ds.incidents.path, ds.areas.path, ds.demographics.path]
    if ds.areas.territory is not None:
        paths.append(ds.areas.territory.path)
    return [p for p in paths if p is not None and not is_url(p)]


def require_fetched(ds: DatasetConfig) -> None:
    """Raise, naming ``fase datasets fetch``, when a file of the data folder is missing.

    The message names the file by its path inside the data folder, not the machine's.
    """
    root = data_root()
    for path in map(Path, dataset_paths(ds)):
        if path.exists() or not path.is_relative_to(root):
            continue
        raise FaseInputError(
            path.relative_to(root).as_posix(),
            f"not in the data folder: dataset {ds.name!r} has not been fetched",
            f"run `fase datasets fetch {ds.name}` (or set FASE_DATA_ROOT to a folder that has it)",
        )


def recognise_format(ds: DatasetConfig) -> str:
    """The known format of the incident file, from its header (and first row)."""
    source = ds.incidents
    parquet = source.storage == "parquet" or (
        source.storage == "auto" and looks_like_parquet(source.path, source.storage_options)
    )
    if parquet:
        return detect_format(source.path, [parquet_columns(source.path, source.storage_options)])
    return detect_format(source.path, first_rows(Path(source.path), source.delimiter))


def observed_calendar(ds: DatasetConfig) -> Calendar:
    """The local days from the first to the last usable incident (one pass over the file)."""
    stream = IncidentStream(ds.incidents, ds.timezone, OPEN_CALENDAR, ds.bbox)
    first = last = None
    for frame in stream:
        times = frame["time"]
        low, high = times.min().date(), times.max().date()
        first = low if first is None else min(first, low)
        last = high if last is None else max(last, high)
    if first is None or last is None:
        raise FaseInputError(
            ds.incidents.path,
            "no incident with a usable date and position",
            "check the file's columns and dataset.bbox",
        )
    return Calendar(start=first, end=last + dt.timedelta(days=1))
