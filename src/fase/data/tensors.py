"""Phase 1 artefacts: counts, features, chronological split and scaling statistics.

Saved in a run directory as ``data/tensors.npz`` (arrays) + ``data/meta.json``
(everything else), both loadable without pickle and written atomically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fase.io import write_json, write_npz
from fase.rundir import RunDir, load_arrays, load_json, require_keys

SPLITS = ("train", "val", "test")


def split_bounds(n_bins: int, fractions: tuple[float, float, float]) -> dict[str, tuple[int, int]]:
    """Chronological split as half-open bin ranges.

    t1 = ⌊f_train·T⌋, t2 = t1 + ⌊f_val·T⌋, test = [t2, T) (the reference code's rule:
    T = 26,280 gives 18,396 / 3,942 / 3,942).
    """
    t1 = int(np.floor(fractions[0] * n_bins))
    t2 = t1 + int(np.floor(fractions[1] * n_bins))
    return {"train": (0, t1), "val": (t1, t2), "test": (t2, n_bins)}


def fit_scaler(x_train: np.ndarray, scaled: np.ndarray) -> dict[str, list[float]]:
    """Per-feature mean/std over the training bins (all nodes) for features in ``scaled``.

    Args:
        x_train: (N, T_train, F) raw features of the training part only.
        scaled: (F,) bool, features to standardise; the others get mean 0, std 1.
    Returns:
        ``{"mean": [F], "std": [F]}``; a constant feature gets std 1.
    """
    flat = x_train.reshape(-1, x_train.shape[-1]).astype(np.float64)
    mean = np.where(scaled, flat.mean(axis=0), 0.0)
    std = np.where(scaled, flat.std(axis=0), 1.0)
    std = np.where(std > 0, std, 1.0)
    return {"mean": mean.tolist(), "std": std.tolist()}


def apply_scaler(x: np.ndarray, scaler: dict[str, list[float]]) -> np.ndarray:
    """(…, F) → (…, F) float32: (x − mean) / std."""
    mean = np.asarray(scaler["mean"], dtype=np.float32)
    std = np.asarray(scaler["std"], dtype=np.float32)
    return ((x - mean) / std).astype(np.float32)


@dataclass
class Tensors:
    """Everything Phase 3 needs from Phase 1.

    Attributes:
        x: (N, T, F) float32 raw (unscaled) features.
        y: (N, T) int32 incident counts per node and bin.
        bin_start: (T,) int64 bin starts, ns since the Unix epoch (UTC).
        y_types: (N, T, K) int32 counts per crime type, or None.
        meta: node ids, feature names, split, scaler, groups, … (JSON-serialisable).
    """

    x: np.ndarray
    y: np.ndarray
    bin_start: np.ndarray
    meta: dict[str, Any]
    y_types: np.ndarray | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def split(self) -> dict[str, tuple[int, int]]:
        return {k: tuple(v) for k, v in self.meta["split"].items()}

    def part(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Raw (x, y) of one split: (N, T_part, F), (N, T_part)."""
        start, end = self.split[name]
        return self.x[:, start:end], self.y[:, start:end]

    def scaled_x(self) -> np.ndarray:
        """(N, T, F) features standardised with the training-part statistics."""
        return apply_scaler(self.x, self.meta["scaler"])

    def starts(self) -> pd.DatetimeIndex:
        """(T,) local tz-aware bin starts."""
        return (
            pd.DatetimeIndex(self.bin_start.astype("datetime64[ns]"))
            .tz_localize("UTC")
            .tz_convert(self.meta["timezone"])
        )

    def save(self, run: RunDir) -> None:
        """Write ``data/tensors.npz`` and ``data/meta.json`` of ``run``."""
        arrays = {"x": self.x, "y": self.y, "bin_start": self.bin_start, **self.extra}
        if self.y_types is not None:
            arrays["y_types"] = self.y_types
        write_npz(run.tensors, arrays, compressed=False)  # speed over size: ~70 MB for Chicago
        write_json(run.meta, self.meta)

    @classmethod
    def load(cls, run: RunDir | str | Path) -> Tensors:
        """The tensors of a run directory (``data/tensors.npz`` and ``data/meta.json``)."""
        run = run if isinstance(run, RunDir) else RunDir(run)
        hint = "build the run's data with `fase data` first"
        run.require(run.tensors, run.meta, hint=hint)
        arrays = load_arrays(run.tensors, hint)
        require_keys(run.tensors, arrays, ("x", "y", "bin_start"), hint)
        meta = load_json(run.meta, hint)
        require_keys(run.meta, meta, (), hint)
        core = {k: arrays.pop(k) for k in ("x", "y", "bin_start")}
        return cls(meta=meta, y_types=arrays.pop("y_types", None), extra=arrays, **core)
