"""Coverage of central predictive intervals.

For a nominal level L ∈ (0, 1) the central interval is [q_lo, q_hi] with
q_lo = Q((1 − L)/2) and q_hi = Q((1 + L)/2), Q the predictive quantile function,
evaluated by the caller from the model's distribution. Over a set S of (bin, area)
cells::

    coverage   = #{(t, n) ∈ S : q_lo ≤ y ≤ q_hi} / |S|     (share, ideally ≈ L)
    mean width = Σ_S (q_hi − q_lo) / |S|                   (incidents per bin)

Both ends are inclusive. For counts the quantiles are integers and the interval
holds at least L of the predictive mass, so a calibrated model's coverage is ≥ L
(often well above it when most of the mass sits at 0): read coverage together with
width. S is every cell (overall), one column (per node) or a group of columns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from fase.errors import FaseInputError
from fase.evaluation.counts import check_counts, check_same_shape

DEFAULT_LEVELS: tuple[float, ...] = (0.5, 0.8, 0.9)

QuantileFn = Callable[[float], np.ndarray]
"""q ↦ (T, N) array of the predictive q-quantile of every cell."""


def interval_coverage(
    y_true: np.ndarray, lower: np.ndarray, upper: np.ndarray, axis: int | None = None
) -> float | np.ndarray:
    """Share of observations inside [lower, upper] (both ends inclusive).

    Args:
        y_true: (T, N) observed counts.
        lower, upper: (T, N) interval ends, lower ≤ upper, not NaN (±inf allowed).
        axis: None for one share over all cells; 0 for one share per node, (N,).
    """
    y = check_counts("y_true", y_true)
    check_same_shape(y, lower=lower, upper=upper)
    lo, hi = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    if np.any(np.isnan(lo)) or np.any(np.isnan(hi)) or np.any(lo > hi):
        raise FaseInputError("quantiles", "interval ends must not be NaN and need lower ≤ upper")
    inside = ((lo <= y) & (y <= hi)).mean(axis=axis)
    return float(inside) if axis is None else inside


def central_quantiles(level: float) -> tuple[float, float]:
    """(q_lo, q_hi) = ((1 − L)/2, (1 + L)/2) for a nominal level L ∈ (0, 1)."""
    if not 0.0 < level < 1.0:
        raise FaseInputError("levels", f"a nominal level must lie in (0, 1), got {level}")
    # rounded so that L = 0.8 gives exactly 0.1, not 0.09999999999999998
    return round((1.0 - level) / 2.0, 12), round((1.0 + level) / 2.0, 12)


def central_intervals(
    quantile: QuantileFn, levels: Sequence[float] = DEFAULT_LEVELS
) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """Evaluate ``quantile`` at each level's central pair: {L: ((T, N) lo, (T, N) hi)}."""
    intervals = {}
    for level in levels:
        q_lo, q_hi = central_quantiles(level)
        intervals[level] = (np.asarray(quantile(q_lo)), np.asarray(quantile(q_hi)))
    return intervals


def coverage_table(
    y_true: np.ndarray, quantile: QuantileFn, levels: Sequence[float] = DEFAULT_LEVELS
) -> list[dict[str, float]]:
    """Empirical coverage and mean width of the central intervals, one row per level.

    Args:
        y_true: (T, N) observed counts.
        quantile: q ↦ (T, N) predictive quantiles (see :data:`QuantileFn`).
        levels: nominal levels L.

    Returns:
        Rows ``{"level", "q_lo", "q_hi", "coverage", "mean_width"}`` (see
        :func:`interval_rows`).
    """
    return interval_rows(y_true, central_intervals(quantile, levels))


def interval_rows(
    y_true: np.ndarray, intervals: Mapping[float, tuple[np.ndarray, np.ndarray]]
) -> list[dict[str, float]]:
    """Coverage rows for intervals already evaluated by :func:`central_intervals`.

    Returns:
        Rows ``{"level", "q_lo", "q_hi", "coverage", "mean_width"}``; the width is in
        incidents per bin (+inf if an interval end is infinite).
    """
    rows = []
    for level, (lo, hi) in intervals.items():
        q_lo, q_hi = central_quantiles(level)
        coverage = interval_coverage(y_true, lo, hi)
        width = float((hi - lo).mean())
        rows.append(
            {"level": level, "q_lo": q_lo, "q_hi": q_hi, "coverage": coverage, "mean_width": width}
        )
    return rows
