"""The detection model: how patrol raises the share of incidents that get recorded.

This is the one definition used everywhere (the ``detection_parity`` policy, the
allocation metrics and the feedback simulator)::

    d(p) = p_base + (p_max − p_base) · clip(p / B, 0, 1)

with p the patrol units an area receives in one step, B the patrol budget per step,
p_base the detection probability of an unpatrolled area and p_max that of an area
holding the whole budget (paper eq. 10: p_base = 0.30, p_max = 0.90, B = 60).
"""

from __future__ import annotations

import numpy as np


def detection_probability(
    patrol: np.ndarray, budget: float, p_base: float = 0.30, p_max: float = 0.90
) -> np.ndarray:
    """Per-area detection probability d(p) (dimensionless, in [p_base, p_max]).

    Args:
        patrol: patrol units, any shape (e.g. (T, N)).
        budget: B, patrol units per step (> 0).
        p_base: detection probability with no patrol.
        p_max: detection probability at p ≥ B.

    Returns:
        Array of the shape of ``patrol``: p_base + (p_max − p_base)·clip(patrol/B, 0, 1).
    """
    if budget <= 0:
        raise ValueError(f"budget must be positive, got {budget}")
    share = np.clip(np.asarray(patrol, dtype=float) / budget, 0.0, 1.0)
    return p_base + (p_max - p_base) * share


def expected_detection_rate(
    patrol: np.ndarray,
    risk: np.ndarray,
    mask: np.ndarray,
    budget: float,
    p_base: float = 0.30,
    p_max: float = 0.90,
) -> np.ndarray:
    """Risk-weighted expected detection rate of a group of areas, per step.

    D_g = Σ_{v∈g} d(p_v)·μ_v / Σ_{v∈g} μ_v: the expected share of the group's
    predicted incidents that get recorded. NaN where the group's risk sums to 0
    (or the group is empty), because the rate is then undefined.

    Args:
        patrol: (T, N) or (N,) patrol units.
        risk: same shape, predicted incidents μ (≥ 0; negative values count as 0).
        mask: (N,) boolean group membership.
        budget, p_base, p_max: the detection model (see :func:`detection_probability`).

    Returns:
        (T,) rates (a scalar array for 1-D input).
    """
    detect = detection_probability(patrol, budget, p_base, p_max)
    weight = np.clip(np.asarray(risk, dtype=float), 0.0, None) * np.asarray(mask, dtype=bool)
    total = weight.sum(axis=-1)
    detected = (detect * weight).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, detected / np.where(total > 0, total, 1.0), np.nan)
