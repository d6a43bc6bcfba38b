"""Finding and reading a run's artefacts for the report, tolerant of column names.

Every reader returns ``None`` when its artefact is absent (the report then leaves the
section out with a note) and raises :class:`~fase.errors.FaseInputError` naming the
file when the artefact exists but cannot be read. Tables come back with canonical
column names: the reference implementation's names (``zinb_loss_mean``,
``detection_ratio_min``, …) and ours (``loss_mean``, ``detection_min``, …) are accepted
for the same quantity, including their ``_lo`` / ``_hi`` replicate-interval variants.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from fase.config.loader import parse_yaml
from fase.errors import FaseInputError
from fase.io import read_json, read_npz
from fase.rundir import RunDir, ScenarioFiles

# alias → canonical name
HISTORY_ALIASES = {
    "zinb_loss_mean": "loss_mean",
    "zinb_loss_final": "loss_final",
    "detection_ratio_min": "detection_min",
    "detection_ratio_maj": "detection_maj",
}
LOG_ALIASES = {"validation_loss": "val_loss", "valid_loss": "val_loss"}
TRADEOFF_ALIASES = {"tolerance": "epsilon", "dir_deviation": "dir_abs_dev"}
POLICY_ALIASES = {"coverage_mean": "coverage", "detection_gap_mean": "detection_gap"}
INTERVAL_SUFFIXES = ("_lo", "_hi")
PER_AREA_KEYS = ("mean_risk", "mean_patrol", "detection_rate", "true_count", "observed_count")


def canonical_columns(table: pd.DataFrame, aliases: Mapping[str, str]) -> pd.DataFrame:
    """Rename alias columns (and ``alias_lo`` / ``alias_hi``) to their canonical names.

    A canonical column that is already present wins over its alias, which is kept as is.
    """
    renames = {}
    for column in map(str, table.columns):
        base, suffix = column, ""
        for end in INTERVAL_SUFFIXES:
            if column.endswith(end):
                base, suffix = column[: -len(end)], end
        target = aliases.get(base)
        if target is not None and target + suffix not in table.columns:
            renames[column] = target + suffix
    return table.rename(columns=renames)


def read_csv(path: Path, aliases: Mapping[str, str] | None = None) -> pd.DataFrame:
    """A CSV artefact with canonical column names (see :func:`canonical_columns`)."""
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise FaseInputError(path, f"cannot be read as CSV ({exc})") from exc
    table.columns = [str(c).strip() for c in table.columns]
    return canonical_columns(table, aliases or {})


def read_text(path: Path) -> str | None:
    """A text artefact (UTF-8), or None when the file does not exist."""
    return path.read_text(encoding="utf-8") if path.is_file() else None


def read_json_file(path: Path) -> Any:
    """A JSON artefact, or None when the file does not exist."""
    if not path.is_file():
        return None
    try:
        return read_json(path)
    except ValueError as exc:
        raise FaseInputError(path, f"is not valid JSON ({exc})") from exc


def read_arrays(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of an ``.npz`` artefact (no pickle), or None when the file does not exist."""
    if not path.is_file():
        return None
    try:
        return read_npz(path)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise FaseInputError(path, f"cannot be read as a NumPy .npz file ({exc})") from exc


def read_config(run: RunDir) -> dict[str, Any]:
    """The resolved ``config.yaml`` as a plain dict ({} when absent)."""
    text = read_text(run.config)
    if text is None:
        return {}
    config = parse_yaml(text, run.config)
    return config if isinstance(config, dict) else {}


def training_log(run: RunDir) -> pd.DataFrame | None:
    """``training_log.csv`` (epoch, train_loss, val_loss, lr, seconds), or None."""
    path = run.training_log
    return read_csv(path, LOG_ALIASES) if path.is_file() else None


@dataclass(frozen=True)
class Simulation:
    """One simulation scenario: its per-cycle history and (K, N) per-area arrays."""

    name: str
    directory: Path
    history: pd.DataFrame | None
    history_file: Path | None
    per_area: dict[str, np.ndarray] | None


def simulations(run: RunDir) -> list[Simulation]:
    """Scenarios under ``simulation/``: the folder itself and each sub-folder holding
    ``history.csv`` (or the reference's ``simulation_history.csv``) or ``per_area.npz``."""
    root = run.simulation_root
    if not root.is_dir():
        return []
    found = []
    for directory in [root, *sorted(p for p in root.iterdir() if p.is_dir())]:
        files = ScenarioFiles(directory)
        history_file = files.history_file()
        per_area = read_arrays(files.per_area)
        if history_file is None and per_area is None:
            continue
        history = None
        if history_file is not None:
            history = read_csv(history_file, HISTORY_ALIASES)
            if "cycle" in history.columns:
                history = history.sort_values("cycle", kind="stable").reset_index(drop=True)
        name = "simulation" if directory == root else directory.name
        found.append(Simulation(name, directory, history, history_file, per_area))
    return found


def main_scenario(config: dict[str, Any]) -> str | None:
    """The scenario folder of the run's own simulation settings (``<mode>-<policy>``
    [``-floor``], as :func:`fase.phases.simulate.scenario_name`), None without them."""
    mode = (config.get("simulation") or {}).get("mode")
    allocation = config.get("allocation") or {}
    if mode is None or "policy" not in allocation:
        return None
    return f"{mode}-{allocation['policy']}" + ("-floor" if allocation.get("floor", 0) > 0 else "")


def policy_study(run: RunDir) -> pd.DataFrame | None:
    """``simulation/policy_study.csv`` (policy, floor, detection_gap, coverage, …), or None."""
    path = run.policy_study_csv
    return read_csv(path, POLICY_ALIASES) if path.is_file() else None


def tradeoff_table(run: RunDir) -> pd.DataFrame | None:
    """``allocation/tradeoff.csv`` (policy, epsilon, coverage, dir_abs_dev, detection_gap)."""
    path = run.tradeoff
    return read_csv(path, TRADEOFF_ALIASES) if path.is_file() else None


def mean_over_steps(arrays: dict[str, np.ndarray], key: str, path: Path) -> np.ndarray:
    """(N,) mean over steps of the (T, N) array ``key`` (NaN steps ignored)."""
    if key not in arrays:
        raise FaseInputError(path, f"has no array {key!r} (arrays: {sorted(arrays)})")
    values = np.asarray(arrays[key], dtype=float)
    if values.ndim != 2:
        raise FaseInputError(path, f"array {key!r} must be (T, N), got shape {values.shape}")
    return np.nanmean(values, axis=0)


def areas(run: RunDir) -> gpd.GeoDataFrame | None:
    """``data/areas.geojson`` in node order, or None."""
    path = run.areas
    if not path.is_file():
        return None
    try:
        return gpd.read_file(path)
    except Exception as exc:  # pyogrio raises its own error types
        raise FaseInputError(path, f"cannot be read as GeoJSON ({exc})") from exc


def minority_mask(meta: Mapping[str, Any] | None, n_areas: int) -> np.ndarray | None:
    """(N,) bool, True for minority areas, from ``meta.json``'s ``groups`` (or None)."""
    groups = (meta or {}).get("groups")
    if not isinstance(groups, list) or len(groups) != n_areas:
        return None
    return np.array([g == "minority" for g in groups])


def find_epsilon(config: Mapping[str, Any], run: RunDir) -> tuple[float, str] | None:
    """The DIR tolerance ε and where it was found: the config's ``simulation`` or
    ``allocation`` section, else ``allocation/paper/summary.json``; None if nowhere."""
    for section in ("simulation", "allocation"):
        value = (config.get(section) or {}).get("epsilon")
        if isinstance(value, int | float):
            return float(value), f"config.yaml {section}.epsilon"
    summary_file = run.allocation("paper").summary_json
    summary = read_json_file(summary_file)
    value = ((summary or {}).get("config") or {}).get("epsilon")
    if isinstance(value, int | float):
        return float(value), str(summary_file.relative_to(run.root))
    return None
