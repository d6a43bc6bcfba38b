"""Allocation metrics, vectorised over steps: every function maps (T, N) arrays to (T,).

Definitions (p: patrol units, μ: predicted incidents clipped at 0, B: budget):

* ``dir``: Demographic Impact Ratio p̄_min / p̄_maj (group mean patrol per area).
  With ``smoothing = 0`` (default) it is NaN where p̄_maj = 0 or a group is empty: the
  ratio is undefined there, and no artificial value (the reference's ~10⁴–10⁶) is made
  up. ``smoothing = s > 0`` gives the reference formula (p̄_min + s)/(p̄_maj + s) at
  every step (an empty group's mean counts as 0).
* ``gini``: Gini of one step's allocation across its N areas (reference §4.4): with p
  clipped at 0 and sorted ascending, i = 1..N,
  G = (2Σ i·p_(i) − (N+1)Σp) / (N·Σp); 0 where Σp = 0.
* ``coverage``: the reference code's "risk-weighted coverage" μᵀp / (B·max_v μ_v), the
  share of the best achievable LP objective; NaN where max μ = 0.
* ``risk_share``: the paper's wording of coverage, the share of predicted risk in
  patrolled areas Σ_{v: p_v > τ} μ_v / Σ_v μ_v (τ = 1e-9 patrol units); NaN where Σμ = 0.
* ``mean_minority`` / ``mean_majority``: p̄_min, p̄_maj (NaN for an empty group).
* ``n_patrolled``: number of areas with p_v > τ.
* ``detection_minority`` / ``detection_majority``: expected detection rates
  D_g = Σ_{v∈g} d(p_v)μ_v / Σ_{v∈g} μ_v (:mod:`fase.allocation.detection`), NaN where
  the group's risk is 0; ``detection_gap`` = D_min − D_maj.
"""

from __future__ import annotations

import numpy as np

from fase.allocation.detection import expected_detection_rate
from fase.allocation.groups import Groups

PATROLLED_THRESHOLD = 1e-9  # patrol units above which an area counts as patrolled


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is ≤ 0."""
    ok = denominator > 0
    return np.where(ok, numerator / np.where(ok, denominator, 1.0), np.nan)


def group_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over the areas in ``mask`` (N,) of values (T, N) → (T,); NaN for an empty group."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return np.full(np.shape(values)[:-1], np.nan)
    return np.asarray(values, dtype=float) @ mask.astype(float) / mask.sum()


def dir_ratio(values: np.ndarray, groups: Groups, smoothing: float = 0.0) -> np.ndarray:
    """DIR = mean over minority / mean over majority, per step (see module docstring).

    Args:
        values: (T, N) patrol units (or counts, for the simulator's observed DIR).
        groups: the fairness groups.
        smoothing: 0 for the exact ratio (NaN when undefined); s > 0 for the
            reference's (m_min + s)/(m_maj + s).
    """
    m_min = group_mean(values, groups.minority)
    m_maj = group_mean(values, groups.majority)
    if smoothing > 0:
        return (np.nan_to_num(m_min) + smoothing) / (np.nan_to_num(m_maj) + smoothing)
    return _safe_divide(m_min, np.nan_to_num(m_maj))


def gini(patrol: np.ndarray) -> np.ndarray:
    """Gini of each step's allocation across areas, (T, N) → (T,) (0 where nothing is patrolled)."""
    p = np.sort(np.clip(np.asarray(patrol, dtype=float), 0.0, None), axis=-1)
    n = p.shape[-1]
    total = p.sum(axis=-1)
    weighted = p @ np.arange(1, n + 1, dtype=float)
    value = _safe_divide(2 * weighted - (n + 1) * total, n * total)
    return np.where(total > 0, value, 0.0)


def coverage(patrol: np.ndarray, risk: np.ndarray, budget: float) -> np.ndarray:
    """Reference coverage μᵀp / (B·max μ) per step, NaN where max μ = 0."""
    risk = np.clip(np.asarray(risk, dtype=float), 0.0, None)
    return _safe_divide((risk * patrol).sum(axis=-1), budget * risk.max(axis=-1))


def risk_share(
    patrol: np.ndarray, risk: np.ndarray, threshold: float = PATROLLED_THRESHOLD
) -> np.ndarray:
    """Share of predicted risk in patrolled areas Σ_{p_v>τ} μ_v / Σ μ_v per step (NaN if Σμ = 0)."""
    risk = np.clip(np.asarray(risk, dtype=float), 0.0, None)
    return _safe_divide((risk * (np.asarray(patrol) > threshold)).sum(axis=-1), risk.sum(axis=-1))


def allocation_metrics(
    patrol: np.ndarray,
    risk: np.ndarray,
    groups: Groups,
    budget: float,
    p_base: float = 0.30,
    p_max: float = 0.90,
) -> dict[str, np.ndarray]:
    """Every per-step metric of the module docstring, each (T,), for patrol and risk (T, N)."""
    patrol = np.asarray(patrol, dtype=float)
    d_min = expected_detection_rate(patrol, risk, groups.minority, budget, p_base, p_max)
    d_maj = expected_detection_rate(patrol, risk, groups.majority, budget, p_base, p_max)
    return {
        "dir": dir_ratio(patrol, groups),
        "gini": gini(patrol),
        "coverage": coverage(patrol, risk, budget),
        "risk_share": risk_share(patrol, risk),
        "total_patrol": patrol.sum(axis=-1),
        "mean_minority": group_mean(patrol, groups.minority),
        "mean_majority": group_mean(patrol, groups.majority),
        "n_patrolled": (patrol > PATROLLED_THRESHOLD).sum(axis=-1).astype(float),
        "detection_minority": d_min,
        "detection_majority": d_maj,
        "detection_gap": d_min - d_maj,
    }


def summarize(metrics: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Mean, population std, min and max over steps of each metric, ignoring NaN steps.

    ``undefined`` counts the NaN steps; statistics of an all-NaN metric are NaN.
    """
    summary: dict[str, dict[str, float]] = {}
    for name, values in metrics.items():
        values = np.asarray(values, dtype=float)
        finite = values[~np.isnan(values)]
        stats = (
            (finite.mean(), finite.std(), finite.min(), finite.max())
            if finite.size
            else (np.nan,) * 4
        )
        summary[name] = dict(zip(("mean", "std", "min", "max"), map(float, stats), strict=True))
        summary[name]["undefined"] = float(values.size - finite.size)
    return summary
