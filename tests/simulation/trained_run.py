"""A tiny trained run directory (3×3 grid city, 20 days of hourly bins, a small FASE or
any other registered model).

Test split: the last 72 bins (3 days), so the rolling simulation fits three 1-day periods.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from tests.helpers.city import write_city

from fase.config import load_config
from fase.phases.train import train_run

TINY = {
    "model": {
        "channels": 4,
        "embedding_dim": 4,
        "blocks": 2,
        "dilations": [1, 2],
        "head_hidden": 4,
        "hawkes_window": "6h",
    },
    "training": {
        "epochs": 1,
        "window": 24,
        "stride": 24,
        "batch_size": 8,
        "threads": 1,
        "early_stopping_patience": None,
    },
}


def incidents(days: int = 20, seed: int = 0) -> pd.DataFrame:
    """Random incidents in nodes 1–9 (busier at low node numbers), local wall times."""
    rng = np.random.default_rng(seed)
    n = 120 * days
    node = rng.choice(9, size=n, p=np.arange(9, 0, -1) / 45) + 1
    seconds = rng.integers(0, days * 86_400, size=n)
    times = pd.Timestamp("2021-03-01") + pd.to_timedelta(np.sort(seconds), unit="s")
    return pd.DataFrame({"time": times.strftime("%Y-%m-%d %H:%M:%S"), "node": node})


def write_trained_run(root: Path, preset: str = "default", model: str = "fase") -> Path:
    """Build the city, train ``model`` (FASE: one epoch) and return the run directory."""
    city = write_city(root / "city", incidents(), "2021-03-01", "2021-03-21", tz="UTC")
    overrides = TINY | {"forecaster": model}
    cfg = load_config(config_path=city.config, preset=preset, overrides=overrides)
    run_dir = root / "run"
    train_run(cfg, run_dir, progress=False)
    return run_dir
