"""Diminishing-returns allocation: maximise Σ_v μ_v·(1 − exp(−p_v/κ)), optionally under DIR.

Each area's value μ_v(1 − e^{−p/κ}) is concave in its patrol p (the first units catch
the most; κ is the patrol at which 63% of an area's risk is covered), so the optimum
spreads patrol over many areas instead of the LP's two. Constraints as in the paper's
LP: Σp ≤ B, f ≤ p_v ≤ c and, optionally, (1−ε)·p̄_maj ≤ p̄_min ≤ (1+ε)·p̄_maj.

Method (exact up to a 1-D bisection at machine precision):

1. Budget only: the KKT condition μ_v/κ·e^{−p_v/κ} = λ gives p_v = clip(κ ln μ_v + θ, f, c)
   with one water level θ for all areas — solved exactly by :class:`LevelFill` for
   the total min(B, capacity). Areas with μ_v = 0 keep the floor.
2. If that violates DIR, the optimum lies on the violated side P_follow = r·P_lead (the
   objective is concave; same argument as the LP, :mod:`closed_form`). With the lead
   group total s, each group is water-filled for its own total, and the value
   φ(s) = V_lead(s) + V_follow(r·s) + V_free(B − (1+r)·s) is concave in s with slope
   φ'(s) = m_lead(s) + r·m_follow(r·s) − (1+r)·m_free(B − (1+r)s), where m_g is group g's
   water-level marginal value e^{−θ_g/κ}/κ (0 once its positive-risk areas are capped).
   φ' is non-increasing, so s* is found by bisection (at most 64 halvings; it stops
   once every row's interval can no longer be halved in floating point).

Risk is clipped at 0 (a negative μ would make the objective convex) and rescaled per
step by its maximum, which leaves the optimum unchanged and keeps e^{−θ/κ} in range.
Areas of zero risk get more than the floor only when DIR forces their group's total
up; they then share it equally. Ties between equal risks are split equally.
"""

from __future__ import annotations

import numpy as np

from fase.allocation.groups import Groups
from fase.allocation.waterfill import LevelFill

_BISECTIONS = 64


def diminishing_value(patrol: np.ndarray, risk: np.ndarray, kappa: float) -> np.ndarray:
    """Objective Σ_v μ_v·(1 − exp(−p_v/κ)) per step: (T, N), (T, N) → (T,) (expected incidents)."""
    return (np.clip(risk, 0.0, None) * -np.expm1(-np.asarray(patrol) / kappa)).sum(axis=-1)


def solve_diminishing(
    mu: np.ndarray,
    groups: Groups,
    budget: float,
    kappa: float,
    epsilon: float | None = None,
    cap: float | None = None,
    floor: float = 0.0,
) -> np.ndarray:
    """Optimal diminishing-returns patrol for every step.

    Args:
        mu: (T, N) risk (negative values count as 0).
        groups: fairness groups of the N areas.
        budget: B, patrol units per step.
        kappa: κ > 0, patrol units at which an area's coverage reaches 1 − 1/e.
        epsilon: DIR tolerance in [0, 1), or ``None`` for none.
        cap: per-area cap (``None``: B).
        floor: minimum patrol per area.

    Returns:
        (T, N) patrol units.
    """
    risk = np.clip(np.asarray(mu, dtype=float), 0.0, None)
    scale = risk.max(axis=1, keepdims=True)
    risk = risk / np.where(scale > 0, scale, 1.0)
    hi = budget if cap is None else min(cap, budget)
    curve = _curve(risk, kappa, floor, hi)
    patrol = curve.amounts(np.minimum(budget, curve.active_capacity))
    if epsilon is None or not groups.both_present:
        return patrol
    n1, n0 = groups.minority.sum(), groups.majority.sum()
    rho = n1 / n0
    p1 = patrol @ groups.minority.astype(float)
    p0 = patrol @ groups.majority.astype(float)
    minority, majority = np.flatnonzero(groups.minority), np.flatnonzero(groups.majority)
    free = np.flatnonzero(groups.unknown)
    for violated, lead, follow, ratio in (
        (p1 > (1 + epsilon) * rho * p0, majority, minority, (1 + epsilon) * rho),
        (p1 < (1 - epsilon) * rho * p0, minority, majority, 1 / ((1 - epsilon) * rho)),
    ):
        rows = np.flatnonzero(violated)
        if rows.size:
            patrol[rows] = _solve_on_line(
                risk[rows], lead, follow, free, ratio, budget, kappa, floor, hi
            )
    return patrol


def _curve(risk: np.ndarray, kappa: float, lo: float, hi: float) -> LevelFill:
    """Water-filling curve of p_v = clip(κ ln μ_v + θ, lo, hi) (areas with μ_v = 0 inactive)."""
    active = risk > 0
    offsets = np.where(active, kappa * np.log(np.where(active, risk, 1.0)), 0.0)
    return LevelFill.build(active.astype(float), offsets, lo, hi)


def _marginal(curve: LevelFill, total: np.ndarray, kappa: float) -> np.ndarray:
    """Group marginal value dV/dS at ``total`` (t,): e^{−θ/κ}/κ, or 0 once active areas are full."""
    theta = curve.level(np.minimum(total, curve.active_capacity))
    value = np.exp(-np.nan_to_num(theta, nan=np.inf) / kappa) / kappa
    return np.where(total < curve.active_capacity, value, 0.0)


def _solve_on_line(
    risk: np.ndarray,
    lead: np.ndarray,
    follow: np.ndarray,
    free: np.ndarray,
    ratio: float,
    budget: float,
    kappa: float,
    lo: float,
    hi: float,
) -> np.ndarray:
    """Optimum with follow total = ratio × lead total (step 2 of the module docstring)."""
    curves = [_curve(risk[:, members], kappa, lo, hi) for members in (lead, follow, free)]
    lead_curve, follow_curve, free_curve = curves
    s_low = max(lead.size * lo, follow.size * lo / ratio)
    s_high = min(lead.size * hi, follow.size * hi / ratio, (budget - free.size * lo) / (1 + ratio))
    low = np.full(risk.shape[0], s_low)
    high = np.full(risk.shape[0], max(s_high, s_low))
    for _ in range(_BISECTIONS):
        s = 0.5 * (low + high)
        slope = (
            _marginal(lead_curve, s, kappa)
            + ratio * _marginal(follow_curve, ratio * s, kappa)
            - (1 + ratio) * _marginal(free_curve, budget - (1 + ratio) * s, kappa)
        )
        rising = slope > 0
        if np.all(np.where(rising, s == low, s == high)):
            break  # every midpoint rounds to an end: no later halving moves either end
        low = np.where(rising, s, low)
        high = np.where(rising, high, s)
    s = high
    patrol = np.empty_like(risk)
    patrol[:, lead] = lead_curve.amounts(s)
    patrol[:, follow] = follow_curve.amounts(ratio * s)
    free_total = np.minimum(budget - (1 + ratio) * s, free_curve.active_capacity)
    patrol[:, free] = free_curve.amounts(free_total)
    return patrol
