"""Explanations of forecasts: Integrated-Gradients feature attributions and their figures."""

from fase.explain.attributions import (
    Attribution,
    expected_count_readout,
    explain_windows,
    integrated_gradients,
    training_baseline,
)
from fase.explain.forecaster import explain_forecaster, write_explanation
from fase.explain.plots import area_heatmap, feature_summary, save_attribution_figures

__all__ = [
    "Attribution",
    "area_heatmap",
    "expected_count_readout",
    "explain_forecaster",
    "explain_windows",
    "feature_summary",
    "integrated_gradients",
    "save_attribution_figures",
    "training_baseline",
    "write_explanation",
]
