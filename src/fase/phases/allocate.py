"""Phase 4 on a run directory (``fase allocate``): read the risk matrix and groups,
allocate, write artefacts.

Inputs::

    RUN_DIR/forecast/forecast.npz   arrays ``expected`` ((1 − π)·μ) and ``mu``, each (T, N)
    RUN_DIR/data/meta.json          key ``groups``: "minority" | "majority" | "unknown" per area

(or any ``.npz`` with a (T, N) array, given explicitly). Outputs, in
``RUN_DIR/allocation/<policy>/``, written atomically::

    allocation.npz   ``patrol`` (T, N) float64, patrol units per step and area
    metrics.csv      one row per step: every metric of :mod:`fase.allocation.metrics`
    summary.json     settings, sizes, timing and mean/std/min/max/undefined per metric
    summary.md       the same as a table

Problems with the inputs raise :class:`~fase.errors.FaseInputError` naming the file.
"""

from __future__ import annotations

import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fase.allocation.groups import Groups
from fase.allocation.metrics import allocation_metrics, summarize
from fase.allocation.policies import make_policy
from fase.allocation.tradeoff import tradeoff_curve
from fase.config.allocation import AllocationConfig
from fase.errors import FaseInputError
from fase.io import read_json, write_json, write_npz, write_text
from fase.rundir import RunDir


@dataclass(frozen=True)
class AllocationResult:
    """What one allocation run produced (arrays are (T, N) or (T,))."""

    patrol: np.ndarray
    metrics: dict[str, np.ndarray]
    summary: dict[str, Any]
    out_dir: Path


def load_risk(path: Path, key: str) -> np.ndarray:
    """The (T, N) float64 array ``key`` of the ``.npz`` at ``path`` (finite values)."""
    path = Path(path)
    if not path.is_file():
        raise FaseInputError(
            path, "risk file not found", "run `fase train` first, or pass --risk FILE.npz"
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            names = list(data.files)
            if key not in names:
                raise FaseInputError(
                    path, f"has no array {key!r} (arrays: {names})", "use --risk-key"
                )
            array = np.asarray(data[key])
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise FaseInputError(path, f"cannot be read as a NumPy .npz file ({exc})") from exc
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise FaseInputError(path, f"array {key!r} must be (T steps, N areas), got {array.shape}")
    if not np.issubdtype(array.dtype, np.number) or not np.all(np.isfinite(array)):
        raise FaseInputError(path, f"array {key!r} must hold finite numbers")
    return array.astype(float)


def load_groups(meta_path: Path, n_areas: int) -> Groups:
    """Groups from ``meta.json``'s ``groups`` list, checked against N areas."""
    meta_path = Path(meta_path)
    if not meta_path.is_file():
        raise FaseInputError(meta_path, "not found", "run `fase data` for this run directory first")
    try:
        meta = read_json(meta_path)
    except (OSError, ValueError) as exc:
        raise FaseInputError(meta_path, f"is not valid JSON ({exc})") from exc
    labels = meta.get("groups") if isinstance(meta, dict) else None
    if not isinstance(labels, list):
        raise FaseInputError(meta_path, "has no 'groups' list (one label per area)")
    if len(labels) != n_areas:
        raise FaseInputError(
            meta_path, f"lists {len(labels)} groups but the risk matrix has {n_areas} areas"
        )
    try:
        return Groups.from_labels(labels)
    except ValueError as exc:
        raise FaseInputError(meta_path, str(exc)) from exc


def run_tradeoff(
    run_dir: Path,
    config: AllocationConfig,
    risk_path: Path | None = None,
    risk_key: str | None = None,
) -> pd.DataFrame:
    """The coverage–fairness trade-off of a run's forecast: every policy swept over its
    fairness tolerance (:func:`fase.allocation.tradeoff.tradeoff_curve`, with ``config``'s
    budget, cap, floor, κ and detection model), written to ``allocation/tradeoff.csv``."""
    run = RunDir(run_dir)
    risk_path = Path(risk_path) if risk_path is not None else run.forecast
    risk = load_risk(risk_path, risk_key or config.risk)
    groups = load_groups(run.meta, risk.shape[1])
    table = tradeoff_curve(risk, groups, config)
    write_text(run.tradeoff, table.to_csv(index=False))
    return table


def run_allocation(
    run_dir: Path,
    config: AllocationConfig,
    risk_path: Path | None = None,
    risk_key: str | None = None,
) -> AllocationResult:
    """Allocate patrols for a run directory and write the artefacts (module docstring)."""
    run = RunDir(run_dir)
    risk_path = Path(risk_path) if risk_path is not None else run.forecast
    key = risk_key or config.risk
    risk = load_risk(risk_path, key)
    groups = load_groups(run.meta, risk.shape[1])
    if risk.shape[1] * config.floor > config.budget:
        raise FaseInputError(
            "--floor", f"{config.floor} × {risk.shape[1]} areas exceeds the budget {config.budget}"
        )
    start = time.perf_counter()
    patrol = make_policy(config).allocate(risk, groups)
    seconds = time.perf_counter() - start
    metrics = allocation_metrics(patrol, risk, groups, config.budget, config.p_base, config.p_max)
    summary = {
        "policy": config.policy,
        "config": config.model_dump(),
        "risk_file": str(risk_path),
        "risk_key": key,
        "steps": risk.shape[0],
        "areas": risk.shape[1],
        "groups": {
            "minority": int(groups.minority.sum()),
            "majority": int(groups.majority.sum()),
            "unknown": int(groups.unknown.sum()),
        },
        "negative_risk_entries_clipped": int((risk < 0).sum()),
        "seconds": seconds,
        "metrics": summarize(metrics),
    }
    files = run.allocation(config.policy)
    write_npz(files.patrol, {"patrol": patrol})
    table = pd.DataFrame({"step": np.arange(risk.shape[0]), **metrics})
    write_text(files.metrics, table.to_csv(index=False))
    write_json(files.summary_json, summary)
    write_text(files.summary_md, summary_markdown(summary))
    return AllocationResult(patrol, metrics, summary, files.directory)


def summary_markdown(summary: dict[str, Any]) -> str:
    """A Markdown report: settings line and a metric table (mean, std, min, max, undefined)."""
    cfg = summary["config"]
    lines = [
        f"# Allocation: {summary['policy']}",
        "",
        f"{summary['steps']} steps × {summary['areas']} areas "
        f"({summary['groups']['minority']} minority, {summary['groups']['majority']} majority, "
        f"{summary['groups']['unknown']} unknown); risk `{summary['risk_key']}`; "
        f"B = {cfg['budget']:g}, ε = {cfg['epsilon']}, cap = {cfg['cap']}, "
        f"floor = {cfg['floor']:g}; "
        f"{summary['seconds']:.3f} s.",
        "",
        "| metric | mean | std | min | max | undefined steps |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, stats in summary["metrics"].items():
        lines.append(
            f"| {name} | {stats['mean']:.6f} | {stats['std']:.6f} | {stats['min']:.6f} "
            f"| {stats['max']:.6f} | {int(stats['undefined'])} |"
        )
    return "\n".join(lines) + "\n"
