"""General LP path: a patrol LP built once in HiGHS and re-solved step after step.

Used by policies without a closed form (``detection_parity``), and as the
independent check of :func:`fase.allocation.closed_form.solve_dir_lp`. The model::

    maximise   wᵀp                                    (w: this step's objective)
    subject to Σ_v p_v ≤ B,   f ≤ p_v ≤ min(c, B),
               p̄_min − (1+ε)·p̄_maj ≤ 0,  p̄_min − (1−ε)·p̄_maj ≥ 0   (if ε given, both groups)
               lᵢ ≤ aᵢᵀp ≤ uᵢ   for i < k               (per-step "parametric" rows)

is passed to HiGHS once. Each step only changes the objective, the parametric rows'
coefficients and bounds, and re-runs the dual simplex from the previous basis (a
warm start: consecutive steps differ little).
"""

from __future__ import annotations

import highspy
import numpy as np

from fase.allocation.groups import Groups

_INF = highspy.kHighsInf


class PatrolLP:
    """A reusable HiGHS model of the patrol LP for one set of areas.

    Args:
        groups: fairness groups of the N areas.
        budget: B, patrol units per step (> 0).
        epsilon: DIR tolerance; ``None`` (or an empty group) means no DIR rows.
        cap: per-area cap c; ``None`` means B.
        floor: minimum patrol f per area.
        n_parametric_rows: k, rows whose coefficients are supplied at every solve.
        tolerance: HiGHS primal and dual feasibility tolerance.
    """

    def __init__(
        self,
        groups: Groups,
        budget: float,
        epsilon: float | None = None,
        cap: float | None = None,
        floor: float = 0.0,
        n_parametric_rows: int = 0,
        tolerance: float = 1e-9,
    ) -> None:
        n = groups.n_nodes
        self.n_nodes = n
        self._h = highspy.Highs()
        for option, value in (
            ("output_flag", False),
            ("primal_feasibility_tolerance", tolerance),
            ("dual_feasibility_tolerance", tolerance),
            ("solver", "simplex"),
            ("presolve", "off"),
            ("threads", 1),
        ):
            self._h.setOptionValue(option, value)
        upper = budget if cap is None else min(cap, budget)
        self._bounds = (float(floor), float(upper))
        self._snap = 1e-9 * max(1.0, budget)
        self._h.addVars(n, np.full(n, float(floor)), np.full(n, float(upper)))
        self._h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        self._columns = np.arange(n, dtype=np.int32)
        self._h.addRow(-_INF, float(budget), n, self._columns, np.ones(n))
        if epsilon is not None and groups.both_present:
            share = groups.minority / groups.minority.sum()
            for factor, lower, upper_bound in ((1 + epsilon, -_INF, 0.0), (1 - epsilon, 0.0, _INF)):
                row = share - factor * groups.majority / groups.majority.sum()
                nz = np.flatnonzero(row).astype(np.int32)
                self._h.addRow(lower, upper_bound, nz.size, nz, row[nz])
        self._first_parametric = self._h.getNumRow()
        self.n_parametric_rows = n_parametric_rows
        for _ in range(n_parametric_rows):
            self._h.addRow(-_INF, _INF, n, self._columns, np.ones(n))
        self._coefficients = np.ones((n_parametric_rows, n))

    def solve(
        self,
        objective: np.ndarray,
        rows: np.ndarray | None = None,
        lower: np.ndarray | None = None,
        upper: np.ndarray | None = None,
    ) -> np.ndarray:
        """Solve for one step.

        Args:
            objective: (N,) objective weights w.
            rows: (k, N) coefficients of the parametric rows (required if k > 0).
            lower, upper: (k,) their bounds (±inf allowed).

        Returns:
            (N,) optimal patrol; values within 1e-9·B of a bound are set to the bound
            (HiGHS leaves round-off such as 1e-13 on basic variables, which would
            otherwise count as patrolled areas and blow up ratios).

        Raises:
            RuntimeError: if HiGHS does not report an optimal solution.
        """
        h = self._h
        h.changeColsCost(self.n_nodes, self._columns, np.asarray(objective, dtype=float))
        if self.n_parametric_rows:
            self._set_rows(
                np.asarray(rows, float), np.asarray(lower, float), np.asarray(upper, float)
            )
        h.run()
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"HiGHS returned {h.modelStatusToString(status)}")
        patrol = np.asarray(h.getSolution().col_value, dtype=float)
        lower_bound, upper_bound = self._bounds
        patrol[np.abs(patrol - lower_bound) <= self._snap] = lower_bound
        patrol[np.abs(patrol - upper_bound) <= self._snap] = upper_bound
        return patrol

    def solve_steps(
        self,
        objective: np.ndarray,
        rows: np.ndarray | None = None,
        lower: np.ndarray | None = None,
        upper: np.ndarray | None = None,
    ) -> np.ndarray:
        """Solve every step in turn: objective (T, N), rows (T, k, N), bounds (T, k) → (T, N)."""
        out = np.empty_like(np.asarray(objective, dtype=float))
        for t in range(out.shape[0]):
            if self.n_parametric_rows:
                out[t] = self.solve(objective[t], rows[t], lower[t], upper[t])
            else:
                out[t] = self.solve(objective[t])
        return out

    def _set_rows(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        h = self._h
        for i in range(self.n_parametric_rows):
            row = self._first_parametric + i
            changed = np.flatnonzero(rows[i] != self._coefficients[i])
            for col in changed:
                h.changeCoeff(row, int(col), float(rows[i, col]))
            self._coefficients[i] = rows[i]
            lo = -_INF if np.isneginf(lower[i]) else float(lower[i])
            hi = _INF if np.isposinf(upper[i]) else float(upper[i])
            h.changeRowBounds(row, lo, hi)
