"""Phase 3's evaluation on a run directory (``fase evaluate``): score the test forecast
with :func:`fase.evaluation.evaluate_forecast`.

Reads ``forecast/forecast.npz`` (test split), ``data/`` (true counts, the training
counts that define the sparsity buckets) and ``data/areas.geojson`` (land area in km²,
measured in the dataset's projected CRS, else the estimated UTM zone); writes
``evaluation/evaluation.json`` and ``evaluation/evaluation.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from fase.data.areas import land_area_km2
from fase.data.tensors import Tensors
from fase.errors import FaseInputError
from fase.evaluation import evaluate_forecast, render_markdown
from fase.io import write_json, write_text
from fase.rundir import RunDir
from fase.training.forecast import SpanForecast, read_forecast

QUANTILE_CHUNK = 256  # bins per quantile evaluation: memory ∝ (max count + 1)·chunk·N


def _log_prob(forecast: SpanForecast, y_true: np.ndarray) -> np.ndarray:
    """(T, N) log p(y_true) under the forecast's predictive distribution (float64)."""
    dist = forecast.to_distribution()
    return dist.log_prob(torch.from_numpy(y_true.astype(np.float64))).numpy()


def _quantiles(forecast: SpanForecast, q: float) -> np.ndarray:
    """(T, N) predictive q-quantiles, computed in chunks of :data:`QUANTILE_CHUNK` bins."""
    steps = forecast.expected.shape[0]
    parts = [
        forecast.to_distribution(slice(i, i + QUANTILE_CHUNK)).quantile(q).numpy()
        for i in range(0, steps, QUANTILE_CHUNK)
    ]
    return np.concatenate(parts, axis=0)


def evaluate_run(run_dir: str | Path) -> dict[str, Any]:
    """Score the test forecast; write ``evaluation/evaluation.{json,md}``; return the report."""
    run = RunDir(run_dir)
    forecast = read_forecast(run.forecast)
    tensors = Tensors.load(run)
    start, end = forecast.start, forecast.end
    if end > tensors.y.shape[1]:
        raise FaseInputError(run.forecast, "does not match data/tensors.npz")
    y_true = tensors.y[:, start:end].T.astype(np.float64)
    train_start, train_end = tensors.split["train"]
    projected = run.load_config().dataset.areas.projected_crs if run.config.is_file() else None
    report = evaluate_forecast(
        y_true,
        forecast.expected.astype(np.float64),
        _log_prob(forecast, y_true),
        lambda q: _quantiles(forecast, q),
        land_area_km2(run.areas, projected),
        tensors.y[:, train_start:train_end].T,
    )
    write_json(run.evaluation_json, report)
    write_text(run.evaluation_md, render_markdown(report, "Test forecast evaluation"))
    return report
