"""Explanations of forecasts: Integrated-Gradients attributions and SHAP values (expected
gradients) of the features, their figures and tables."""

from fase.explain.attributions import (
    Attribution,
    expected_count_readout,
    explain_windows,
    integrated_gradients,
    training_baseline,
)
from fase.explain.forecaster import explain_forecaster, shap_forecaster, write_explanation
from fase.explain.plots import area_heatmap, feature_summary, save_attribution_figures
from fase.explain.shapley import ShapleyValues, shapley_values

__all__ = [
    "Attribution",
    "ShapleyValues",
    "area_heatmap",
    "expected_count_readout",
    "explain_forecaster",
    "explain_windows",
    "feature_summary",
    "integrated_gradients",
    "save_attribution_figures",
    "shap_forecaster",
    "shapley_values",
    "training_baseline",
    "write_explanation",
]
