"""Explanations of a fitted neural forecaster's test forecasts (``fase compare``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fase.errors import FaseInputError
from fase.explain.attributions import Attribution, explain_windows
from fase.explain.plots import save_attribution_figures
from fase.explain.shapley import (
    BACKGROUND_WINDOWS,
    SAMPLES,
    ShapleyValues,
    save_ranking_comparison,
    shap_windows,
    write_shap_table,
)
from fase.forecasters import ForecastData, NeuralForecaster
from fase.io import write_text


def _test_windows(
    model: NeuralForecaster, data: ForecastData, windows: int, bins: int
) -> tuple[np.ndarray, int]:
    """Starts of ``windows`` forecasts of ``bins`` bins evenly spread over the test split
    (each with its exact warm-up), and the warm-up."""
    model.require_fitted(model.module is not None)
    warmup = model.warmup_steps
    start, end = data.bounds("test")
    first = max(start, warmup)
    if end - first < bins:
        raise FaseInputError(
            "test split", f"has fewer than {bins} bins after {warmup} warm-up bins"
        )
    return np.linspace(first, end - bins, windows).round().astype(np.int64), warmup


def explain_forecaster(
    model: NeuralForecaster, data: ForecastData, windows: int = 4, bins: int = 24, n_steps: int = 32
) -> Attribution:
    """Integrated-Gradients attributions of ``windows`` test-split forecasts of ``bins``
    bins each, evenly spread over the test split (each with its exact warm-up), of the
    expected count summed over all areas (:func:`explain_windows`)."""
    starts, warmup = _test_windows(model, data, windows, bins)
    return explain_windows(model.module, data, starts, bins, warmup=warmup, n_steps=n_steps)


def shap_forecaster(
    model: NeuralForecaster,
    data: ForecastData,
    windows: int = 4,
    bins: int = 24,
    background: int = BACKGROUND_WINDOWS,
    nsamples: int = SAMPLES,
    seed: int = 0,
) -> ShapleyValues:
    """SHAP values (expected gradients) of the forecasts :func:`explain_forecaster`
    explains, against ``background`` training-split windows drawn with ``seed``
    (:func:`fase.explain.shapley.shap_windows`)."""
    starts, warmup = _test_windows(model, data, windows, bins)
    return shap_windows(
        model.module,
        data,
        starts,
        bins,
        warmup=warmup,
        background=background,
        nsamples=nsamples,
        seed=seed,
    )


def write_explanation(model: NeuralForecaster, data: ForecastData, out_dir: Path) -> None:
    """``model``'s test-split explanations: the two IG figures and ``attributions.csv``
    (rows: areas by id, columns: features; mean |attribution| in expected incidents), the
    SHAP values of the same forecasts in ``shap.csv`` (same layout, mean |SHAP|), and
    ``shap_vs_ig.{png,pdf}`` comparing the two feature rankings."""
    attribution = explain_forecaster(model, data)
    save_attribution_figures(attribution, out_dir, area_names=data.graph.node_ids)
    table = pd.DataFrame(
        attribution.by_area(),
        index=pd.Index(data.graph.node_ids, name="area"),
        columns=attribution.feature_names,
    )
    write_text(out_dir / "attributions.csv", table.to_csv())
    shapley = shap_forecaster(model, data)
    write_shap_table(shapley, data.graph.node_ids, out_dir / "shap.csv")
    save_ranking_comparison(attribution, shapley, out_dir)
