"""Proportional allocation: patrol in proportion to predicted risk, p_v ∝ μ_v.

Formula (floor f, cap c, budget B, N areas)::

    p_v = f + min(c − f, θ·μ_v),   θ such that Σ_v p_v = B

i.e. the budget above the floors is split in proportion to risk, and whatever a
capped area cannot take is redistributed over the others in proportion to their
risk (exact water-filling, :class:`LevelFill`). Budget that the positive-risk areas
cannot absorb is shared equally by the zero-risk areas; a step whose risks are all
zero therefore gets the uniform allocation B/N (the reference code's fallback).

With the DIR constraint, the group totals P_min, P_maj of the unconstrained allocation
are moved, keeping P_min + P_maj fixed, to the nearest side of the band
(P_min = r·P_maj with r = (1 ± ε)·n_min/n_maj; if a group cannot hold its new total,
it is filled to its cap and the other group's total follows the ratio). Each group's
total is then split in proportion to risk within the group; unknown areas keep their
unconstrained patrol. This is a heuristic (it optimises nothing); it is the
"patrol where the risk is" baseline made DIR-feasible.

Risk is clipped at 0.
"""

from __future__ import annotations

import numpy as np

from fase.allocation.groups import Groups
from fase.allocation.waterfill import LevelFill


def solve_proportional(
    mu: np.ndarray,
    groups: Groups,
    budget: float,
    epsilon: float | None = None,
    cap: float | None = None,
    floor: float = 0.0,
) -> np.ndarray:
    """Risk-proportional patrol, (T, N) risk → (T, N) patrol units (see module docstring)."""
    risk = np.clip(np.asarray(mu, dtype=float), 0.0, None)
    hi = budget if cap is None else min(cap, budget)
    n = risk.shape[1]
    total = np.full(risk.shape[0], min(budget, n * hi))
    patrol = _fill(risk, floor, hi, total)
    if epsilon is None or not groups.both_present:
        return patrol
    n1, n0 = groups.minority.sum(), groups.majority.sum()
    rho = n1 / n0
    p1 = patrol @ groups.minority.astype(float)
    p0 = patrol @ groups.majority.astype(float)
    both = p1 + p0
    ratio = np.clip(p1 / np.where(p0 > 0, p0, 1.0), (1 - epsilon) * rho, (1 + epsilon) * rho)
    ratio = np.where(p0 > 0, ratio, (1 + epsilon) * rho)  # p0 = 0 < p1: too much minority
    new_p0 = both / (1 + ratio)
    new_p0 = np.minimum(new_p0, n0 * hi)
    new_p0 = np.minimum(new_p0, n1 * hi / ratio)
    new_p1 = ratio * new_p0
    moved = (p1 > (1 + epsilon) * rho * p0) | (p1 < (1 - epsilon) * rho * p0)
    rows = np.flatnonzero(moved)
    if rows.size:
        for mask, target in ((groups.minority, new_p1), (groups.majority, new_p0)):
            cols = np.flatnonzero(mask)
            block = risk[np.ix_(rows, cols)]
            patrol[np.ix_(rows, cols)] = _fill(block, floor, hi, target[rows])
    return patrol


def _fill(risk: np.ndarray, floor: float, hi: float, total: np.ndarray) -> np.ndarray:
    """p = floor + min(hi − floor, θ·μ) with Σp = total per row (total ≥ n·floor)."""
    curve = LevelFill.build(risk, np.zeros_like(risk), 0.0, hi - floor)
    return floor + curve.amounts(total - risk.shape[1] * floor)
