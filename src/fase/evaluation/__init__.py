"""Forecast evaluation: count metrics, hotspot metrics and interval coverage.

Pure NumPy functions on (T, N) arrays (T time bins × N areas); definitions, ties and
edge cases are spelled out in each module and in ``docs/evaluation.md``.
"""

from fase.evaluation.counts import (
    DEFAULT_BUCKET_EDGES,
    bucket_labels,
    count_metrics,
    count_metrics_by_bucket,
    mae,
    mean_nll,
    rmse,
    sparsity_buckets,
    zero_share,
)
from fase.evaluation.hotspots import (
    DEFAULT_COVERAGES,
    HotspotScores,
    flag_hotspots,
    hotspot_scores,
    hotspot_table,
    n_flagged,
    oracle_hits,
)
from fase.evaluation.intervals import (
    DEFAULT_LEVELS,
    central_intervals,
    central_quantiles,
    coverage_table,
    interval_coverage,
    interval_rows,
)
from fase.evaluation.report import evaluate_forecast, render_markdown

__all__ = [
    "DEFAULT_BUCKET_EDGES",
    "DEFAULT_COVERAGES",
    "DEFAULT_LEVELS",
    "HotspotScores",
    "bucket_labels",
    "central_intervals",
    "central_quantiles",
    "count_metrics",
    "count_metrics_by_bucket",
    "coverage_table",
    "evaluate_forecast",
    "flag_hotspots",
    "hotspot_scores",
    "hotspot_table",
    "interval_coverage",
    "interval_rows",
    "mae",
    "mean_nll",
    "n_flagged",
    "oracle_hits",
    "render_markdown",
    "rmse",
    "sparsity_buckets",
    "zero_share",
]
