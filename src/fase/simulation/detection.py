"""Observed counts from true counts and patrols: the detection model, applied.

The detection probability is :func:`fase.allocation.detection.detection_probability`
(the one definition, paper eq. 10): d = p_base + (p_max − p_base)·clip(p/B, 0, 1).
This module only turns it into observations:

* ``expected`` (paper): y_obs = d·y, fractional, no randomness.
* ``binomial``: every true incident is recorded independently with probability d,
  so y_obs ~ Binomial(y, d). Each incident i gets one uniform draw u_i, fixed for the
  period, and is recorded iff u_i < d of its cell. For fixed draws y_obs is a
  non-decreasing step function of d, which makes the within-period fixed point of the
  rolling simulator well defined (common random numbers across its passes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fase.allocation.detection import detection_probability


@dataclass(frozen=True)
class IncidentDraws:
    """One uniform per true incident of a (L, N) count block, in row-major cell order.

    Attributes:
        cell: (M,) int64 flat cell index of each incident (M = total true count).
        uniform: (M,) float64 draws in [0, 1).
        n_cells: L·N.
    """

    cell: np.ndarray
    uniform: np.ndarray
    n_cells: int


def draw_incidents(true_counts: np.ndarray, rng: np.random.Generator) -> IncidentDraws:
    """Draw u_i ~ U[0, 1) for every incident of ``true_counts`` (L, N) (non-negative integers)."""
    counts = np.asarray(true_counts)
    whole = np.rint(counts)
    if np.any(counts < 0) or not np.allclose(counts, whole):
        raise ValueError("binomial detection needs non-negative integer true counts")
    flat = whole.astype(np.int64).ravel()
    cell = np.repeat(np.arange(flat.size, dtype=np.int64), flat)
    return IncidentDraws(cell, rng.random(cell.size), flat.size)


def observe(
    true_counts: np.ndarray,
    patrol: np.ndarray,
    budget: float,
    p_base: float,
    p_max: float,
    draws: IncidentDraws | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Detection probability and observed counts of one period.

    Args:
        true_counts: (L, N) true incidents.
        patrol: (L, N) patrol units.
        budget, p_base, p_max: the detection model.
        draws: per-incident uniforms for binomial thinning; ``None``: expected value.

    Returns:
        d (L, N) in [p_base, p_max], and y_obs (L, N) float64: d·y (expected) or the
        number of incidents with u_i < d (binomial).
    """
    d = detection_probability(patrol, budget, p_base, p_max)
    true = np.asarray(true_counts, dtype=float)
    if draws is None:
        return d, true * d
    if draws.n_cells != true.size:
        raise ValueError(f"draws cover {draws.n_cells} cells, the counts {true.size}")
    detected = draws.uniform < d.ravel()[draws.cell]
    counts = np.bincount(draws.cell[detected], minlength=draws.n_cells)
    return d, counts.reshape(true.shape).astype(float)
