"""Independent reference for the patrol LP: scipy's HiGHS dual simplex on a block-diagonal
LP holding many instances at once (one solve instead of one per instance).

Blocks share no variable or row, so an optimum of the stacked LP is an optimum of every
block, and each block's objective can be read off the stacked solution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

TIGHT = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}


@dataclass(frozen=True)
class Instance:
    """One patrol LP: risk (N,), masks (N,), B, ε (None: no DIR), cap (None: B), floor."""

    mu: np.ndarray
    minority: np.ndarray
    majority: np.ndarray
    budget: float
    epsilon: float | None
    cap: float | None
    floor: float

    @property
    def upper(self) -> float:
        return self.budget if self.cap is None else min(self.cap, self.budget)

    @property
    def has_dir(self) -> bool:
        return self.epsilon is not None and self.minority.any() and self.majority.any()

    def rows(self) -> tuple[np.ndarray, np.ndarray]:
        """A_ub (k, N) and b_ub (k,) of Σp ≤ B and the two DIR rows (as ≤ rows)."""
        a = [np.ones(self.mu.size)]
        b = [self.budget]
        if self.has_dir:
            share_min = self.minority / self.minority.sum()
            share_maj = self.majority / self.majority.sum()
            a.append(share_min - (1 + self.epsilon) * share_maj)
            a.append(-(share_min - (1 - self.epsilon) * share_maj))
            b += [0.0, 0.0]
        return np.array(a), np.array(b)

    def violation(self, p: np.ndarray) -> float:
        """Largest violation of any constraint by p (≤ 0 when feasible)."""
        a, b = self.rows()
        return float(max((a @ p - b).max(), (self.floor - p).max(), (p - self.upper).max()))


def solve_stacked(instances: list[Instance]) -> list[float]:
    """Optimal objectives μᵀp* of every instance, from one block-diagonal HiGHS solve."""
    blocks = [inst.rows() for inst in instances]
    a_ub = sparse.block_diag([sparse.csr_matrix(a) for a, _ in blocks], format="csr")
    b_ub = np.concatenate([b for _, b in blocks])
    cost = -np.concatenate([inst.mu for inst in instances])
    bounds = np.concatenate(
        [np.tile([inst.floor, inst.upper], (inst.mu.size, 1)) for inst in instances]
    )
    result = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs-ds", options=TIGHT)
    assert result.status == 0, result.message
    splits = np.cumsum([inst.mu.size for inst in instances])[:-1]
    return [
        float(inst.mu @ x) for inst, x in zip(instances, np.split(result.x, splits), strict=True)
    ]
