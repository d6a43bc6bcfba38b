"""Explanations of a fitted neural forecaster's test forecasts (``fase compare``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fase.errors import FaseInputError
from fase.explain.attributions import Attribution, explain_windows
from fase.explain.plots import save_attribution_figures
from fase.forecasters import ForecastData, NeuralForecaster
from fase.io import write_text


def explain_forecaster(
    model: NeuralForecaster, data: ForecastData, windows: int = 4, bins: int = 24, n_steps: int = 32
) -> Attribution:
    """Integrated-Gradients attributions of ``windows`` test-split forecasts of ``bins``
    bins each, evenly spread over the test split (each with its exact warm-up), of the
    expected count summed over all areas (:func:`explain_windows`)."""
    model.require_fitted(model.module is not None)
    warmup = model.warmup_steps
    start, end = data.bounds("test")
    first = max(start, warmup)
    if end - first < bins:
        raise FaseInputError(
            "test split", f"has fewer than {bins} bins after {warmup} warm-up bins"
        )
    starts = np.linspace(first, end - bins, windows).round().astype(np.int64)
    return explain_windows(model.module, data, starts, bins, warmup=warmup, n_steps=n_steps)


def write_explanation(model: NeuralForecaster, data: ForecastData, out_dir: Path) -> None:
    """``model``'s test-split attributions: the two figures and ``attributions.csv``
    (rows: areas by id, columns: features; mean |attribution| in expected incidents)."""
    attribution = explain_forecaster(model, data)
    save_attribution_figures(attribution, out_dir, area_names=data.graph.node_ids)
    table = pd.DataFrame(
        attribution.by_area(),
        index=pd.Index(data.graph.node_ids, name="area"),
        columns=attribution.feature_names,
    )
    write_text(out_dir / "attributions.csv", table.to_csv())
