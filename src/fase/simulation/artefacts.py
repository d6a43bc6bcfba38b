"""Simulation artefacts in ``RUN_DIR/simulation/<name>/``, all written atomically::

history.csv              one row per cycle (columns: docs/simulation.md); with R > 1
                         replicates the mean, plus ``<metric>_lo`` / ``<metric>_hi``
history.json             the same rows, the settings and the wall time
history_replicates.csv   R > 1 only: every replicate's rows (column ``replicate``)
simulation_history.csv   paper mode only: the reference code's columns, in its order
per_area.npz             (K, N) float64 arrays mean_risk, mean_patrol, detection_rate,
                         true_count, observed_count; (K,) cycle and period_start
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fase.io import write_json, write_npz, write_text
from fase.rundir import ScenarioFiles
from fase.simulation.runner import SimulationResult


def _iso_utc(bin_start: np.ndarray, bins: pd.Series) -> list[str]:
    """ISO-8601 UTC start of each bin index in ``bins`` ("" when unknown)."""
    if bin_start.size == 0:
        return [""] * len(bins)
    stamps = pd.to_datetime(bin_start[bins.astype(int).to_numpy()], utc=True)
    return [s.isoformat() for s in stamps]


def write_simulation(
    files: ScenarioFiles, result: SimulationResult, bin_start: np.ndarray, settings: dict[str, Any]
) -> None:
    """Write every artefact of the module docstring into the scenario's folder."""
    history = result.history.copy()
    history.insert(3, "period_start_time", _iso_utc(bin_start, history["period_start"]))
    write_text(files.history, history.to_csv(index=False))
    write_json(
        files.history_json,
        {
            "settings": settings,
            "replicates": len(result.replicates),
            "seconds": result.seconds,
            "rows": history.to_dict(orient="records"),
        },
    )
    if len(result.replicates) > 1:
        frames = [pd.DataFrame(r.rows).assign(replicate=k) for k, r in enumerate(result.replicates)]
        long = pd.concat(frames, ignore_index=True)
        long = long[["replicate", *[c for c in long.columns if c != "replicate"]]]
        write_text(files.replicates, long.to_csv(index=False))
    if result.params.mode == "paper":
        write_text(files.paper_history, result.paper_history.to_csv(index=False))
    arrays = dict(result.per_area)
    arrays["cycle"] = history["cycle"].to_numpy(np.int64)
    arrays["period_start"] = history["period_start"].to_numpy(np.int64)
    write_npz(files.per_area, arrays)
