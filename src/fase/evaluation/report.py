"""One call that scores a forecast: overall, per-node and per-bucket tables.

The result is plain dicts and lists (JSON-ready: NumPy values become Python floats,
and undefined or infinite values become None) and renders as Markdown with
:func:`render_markdown`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fase.errors import FaseInputError
from fase.evaluation.counts import (
    DEFAULT_BUCKET_EDGES,
    bucket_labels,
    check_counts,
    check_same_shape,
    count_metrics,
    count_metrics_by_bucket,
    sparsity_buckets,
    zero_share,
)
from fase.evaluation.hotspots import DEFAULT_COVERAGES, Ties, hotspot_table
from fase.evaluation.intervals import (
    DEFAULT_LEVELS,
    QuantileFn,
    central_intervals,
    interval_coverage,
    interval_rows,
)
from fase.tables import markdown_table


def coverage_key(level: float) -> str:
    """Column name of a level's coverage, e.g. 0.8 → ``"coverage_80"``."""
    return f"coverage_{level * 100:g}"


def evaluate_forecast(
    y_true: np.ndarray,
    expected: np.ndarray,
    log_prob: np.ndarray,
    quantile_fn: QuantileFn,
    area_km2: np.ndarray,
    train_counts: np.ndarray,
    coverages: Sequence[float] = DEFAULT_COVERAGES,
    levels: Sequence[float] = DEFAULT_LEVELS,
    bucket_edges: Sequence[float] = DEFAULT_BUCKET_EDGES,
    ties: Ties = "index",
) -> dict[str, Any]:
    """Score a count forecast over a test period.

    Args:
        y_true: (T, N) observed counts per bin and area.
        expected: (T, N) predicted means; also the risk that ranks hotspots.
        log_prob: (T, N) log p(y) under the predictive distribution.
        quantile_fn: q ↦ (T, N) predictive q-quantiles.
        area_km2: (N,) land areas (> 0).
        train_counts: (T_train, N) training counts; they only set the sparsity buckets.
        coverages: hotspot coverages c (both count and area mode are scored).
        levels: nominal levels of the central predictive intervals.
        bucket_edges: zero-share bucket edges (see ``counts.sparsity_buckets``).
        ties: hotspot tie rule for count mode; area mode always uses ``"index"``
            (``"expected"`` is not defined there). Each hotspot row names its rule.

    Returns:
        ``{"bins", "nodes", "overall": {"counts", "hotspots", "intervals"},
        "per_node": [...], "per_bucket": [...]}``. ``per_node`` rows hold the node
        index, its training zero share and bucket, MAE/RMSE/NLL and one
        ``coverage_<L%>`` per level; ``per_bucket`` rows the same pooled over the
        bucket's cells.
    """
    y = check_counts("y_true", y_true)
    check_same_shape(y, expected=expected, log_prob=log_prob)
    if np.shape(train_counts)[-1:] != y.shape[1:]:
        raise FaseInputError(
            "train_counts", f"has shape {np.shape(train_counts)}, expected (T_train, {y.shape[1]})"
        )
    mu, lp = np.asarray(expected, dtype=float), np.asarray(log_prob, dtype=float)
    intervals = central_intervals(quantile_fn, levels)
    overall = {
        "counts": count_metrics(y, mu, lp),
        "hotspots": hotspot_table(mu, y, area_km2, coverages, ("count",), ties)
        + hotspot_table(mu, y, area_km2, coverages, ("area",), "index"),
        "intervals": interval_rows(y, intervals),
    }
    share = zero_share(train_counts)
    bucket = sparsity_buckets(train_counts, bucket_edges)
    labels = bucket_labels(bucket_edges)
    node_scores = count_metrics(y, mu, lp, axis=0) | {
        coverage_key(level): interval_coverage(y, lo, hi, axis=0)
        for level, (lo, hi) in intervals.items()
    }
    per_node = [
        {"node": n, "zero_share_train": share[n], "bucket": labels[bucket[n]]}
        | {name: values[n] for name, values in node_scores.items()}
        for n in range(y.shape[1])
    ]
    per_bucket = count_metrics_by_bucket(y, mu, lp, train_counts, bucket_edges)
    for index, row in enumerate(per_bucket):
        members = bucket == index
        for level, (lo, hi) in intervals.items():
            row[coverage_key(level)] = (
                interval_coverage(y[:, members], lo[:, members], hi[:, members])
                if members.any()
                else None
            )
    report = {
        "bins": y.shape[0],
        "nodes": y.shape[1],
        "overall": overall,
        "per_node": per_node,
        "per_bucket": per_bucket,
    }
    return _json_ready(report)


def _json_ready(value: Any) -> Any:
    """Python scalars only; NaN and ±inf become None (strict JSON has neither)."""
    if isinstance(value, Mapping):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def render_markdown(report: Mapping[str, Any], title: str = "Forecast evaluation") -> str:
    """The report of :func:`evaluate_forecast` as Markdown sections."""
    overall = report["overall"]
    sections = [
        f"# {title}\n\n{report['bins']:,} bins × {report['nodes']} areas.\n",
        "## Count metrics\n\n" + markdown_table([overall["counts"]]),
        "## Hotspots\n\n" + markdown_table(overall["hotspots"]),
        "## Interval coverage\n\n" + markdown_table(overall["intervals"]),
        "## By training sparsity\n\n" + markdown_table(report["per_bucket"]),
        "## Per node\n\n" + markdown_table(report["per_node"]),
    ]
    return "\n".join(sections)
