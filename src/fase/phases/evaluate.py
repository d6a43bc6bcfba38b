"""``fase evaluate``: score a run's test forecast with :func:`fase.evaluation.evaluate_forecast`.

Reads ``forecast/forecast.npz`` (test split), ``data/`` (true counts, the training
counts that define the sparsity buckets) and ``data/areas.geojson`` (land area in km²,
measured in the dataset's projected CRS, else the estimated UTM zone); writes
``evaluation/evaluation.json`` and ``evaluation/evaluation.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import torch

from fase.data.tensors import Tensors
from fase.errors import FaseInputError
from fase.evaluation import evaluate_forecast, render_markdown
from fase.io import write_json, write_text
from fase.training.forecast import FORECAST_DIR, FORECAST_FILE, StoredForecast, read_forecast
from fase.training.pipeline import load_run_config

EVALUATION_DIR = "evaluation"
QUANTILE_CHUNK = 256  # bins per quantile evaluation: memory ∝ (max count + 1)·chunk·N


def land_area_km2(areas_path: Path, projected_crs: str | None) -> np.ndarray:
    """(N,) polygon areas in km², in node order, measured in a metric CRS."""
    if not areas_path.is_file():
        raise FaseInputError(areas_path, "not found", "rebuild the run's data with `fase data`")
    frame = gpd.read_file(areas_path)
    crs = projected_crs or frame.estimate_utm_crs()
    return frame.to_crs(crs).geometry.area.to_numpy(dtype=float) / 1e6


def _log_prob(stored: StoredForecast, y_true: np.ndarray) -> np.ndarray:
    """(T, N) log p(y_true) under the stored predictive distribution (float64)."""
    dist = stored.to_distribution()
    return dist.log_prob(torch.from_numpy(y_true.astype(np.float64))).numpy()


def _quantiles(stored: StoredForecast, q: float) -> np.ndarray:
    """(T, N) predictive q-quantiles, computed in chunks of :data:`QUANTILE_CHUNK` bins."""
    steps = stored.forecast.expected.shape[0]
    parts = [
        stored.to_distribution(slice(i, i + QUANTILE_CHUNK)).quantile(q).numpy()
        for i in range(0, steps, QUANTILE_CHUNK)
    ]
    return np.concatenate(parts, axis=0)


def evaluate_run(run_dir: str | Path) -> dict[str, Any]:
    """Score the test forecast; write ``evaluation/evaluation.{json,md}``; return the report."""
    run_dir = Path(run_dir)
    stored = read_forecast(run_dir / FORECAST_DIR / FORECAST_FILE)
    tensors = Tensors.load(run_dir / "data")
    start, end = stored.forecast.start, stored.forecast.end
    if end > tensors.y.shape[1]:
        raise FaseInputError(
            run_dir / FORECAST_DIR / FORECAST_FILE, "does not match data/tensors.npz"
        )
    y_true = tensors.y[:, start:end].T.astype(np.float64)
    train_start, train_end = tensors.split["train"]
    config_file = run_dir / "config.yaml"
    projected = (
        load_run_config(run_dir).dataset.areas.projected_crs if config_file.is_file() else None
    )
    report = evaluate_forecast(
        y_true,
        stored.forecast.expected.astype(np.float64),
        _log_prob(stored, y_true),
        lambda q: _quantiles(stored, q),
        land_area_km2(run_dir / "data" / "areas.geojson", projected),
        tensors.y[:, train_start:train_end].T,
    )
    out = run_dir / EVALUATION_DIR
    write_json(out / "evaluation.json", report)
    write_text(out / "evaluation.md", render_markdown(report, "Test forecast evaluation"))
    return report
