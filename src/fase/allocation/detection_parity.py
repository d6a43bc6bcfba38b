"""Detection-parity allocation: the paper's LP with equal expected detection rates.

With the detection model d(p) = p_base + (p_max − p_base)·min(p/B, 1)
(:mod:`fase.allocation.detection`) and p_v ≤ B, group g's expected detection rate

    D_g(p) = Σ_{v∈g} d(p_v)·μ_v / Σ_{v∈g} μ_v = p_base + k·Σ_{v∈g} (μ_v / M_g)·p_v,

with k = (p_max − p_base)/B and M_g = Σ_{v∈g} μ_v, is linear in p. The policy solves::

    maximise μᵀp  s.t.  Σp ≤ B,  f ≤ p ≤ c,  |D_min(p) − D_maj(p)| ≤ η   (+ DIR rows if ε given)

one step at a time with a single HiGHS model (:class:`PatrolLP`) whose objective and
parity-row coefficients are updated per step. Where a group's risk sums to 0 its
rate is undefined and the parity row is dropped for that step. Risk is clipped at 0.
Among several optima HiGHS returns a vertex; under degeneracy which one can depend
on the previous step's basis (the model is warm-started), but the result is
reproducible for the same input.
"""

from __future__ import annotations

import numpy as np

from fase.allocation.groups import Groups
from fase.allocation.highs import PatrolLP


def parity_rows(
    risk: np.ndarray, groups: Groups, budget: float, p_base: float, p_max: float, tolerance: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The row D_min − D_maj ∈ [−η, η] for each step, without its constant p_base terms.

    Returns:
        rows (T, 1, N): k·μ_v/M_min on minority areas, −k·μ_v/M_maj on majority areas, 0 else;
        lower, upper (T, 1): −η and η, or ∓inf where a group's risk sums to 0.
    """
    risk = np.clip(np.asarray(risk, dtype=float), 0.0, None)
    slope = (p_max - p_base) / budget
    m_min = risk @ groups.minority.astype(float)
    m_maj = risk @ groups.majority.astype(float)
    defined = (m_min > 0) & (m_maj > 0)
    weight_min = np.where(defined, slope / np.where(m_min > 0, m_min, 1.0), 0.0)
    weight_maj = np.where(defined, slope / np.where(m_maj > 0, m_maj, 1.0), 0.0)
    rows = risk * (groups.minority * weight_min[:, None] - groups.majority * weight_maj[:, None])
    bound = np.where(defined, tolerance, np.inf)[:, None]
    return rows[:, None, :], -bound, bound


def solve_detection_parity(
    mu: np.ndarray,
    groups: Groups,
    budget: float,
    tolerance: float,
    p_base: float = 0.30,
    p_max: float = 0.90,
    epsilon: float | None = None,
    cap: float | None = None,
    floor: float = 0.0,
) -> np.ndarray:
    """Maximise μᵀp under |D_min − D_maj| ≤ η for every step: (T, N) risk → (T, N) patrol."""
    risk = np.clip(np.asarray(mu, dtype=float), 0.0, None)
    model = PatrolLP(groups, budget, epsilon, cap, floor, n_parametric_rows=1)
    rows, lower, upper = parity_rows(risk, groups, budget, p_base, p_max, tolerance)
    return model.solve_steps(risk, rows, lower, upper)
