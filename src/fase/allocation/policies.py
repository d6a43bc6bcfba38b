"""Allocation policies: *what* to optimise, each behind one interface and a name.

Every policy maps a risk matrix μ (T steps × N areas, predicted incidents per step)
and the fairness groups to patrol units p (T, N), spending at most B per step, with
an optional per-area cap c, floor f and DIR constraint
(1−ε)·p̄_maj ≤ p̄_min ≤ (1+ε)·p̄_maj. The solvers (closed form, water-filling, HiGHS)
live in their own modules; these classes only choose and configure them.

==================  ===========================================================
``paper``           max μᵀp (the paper's LP, eq. 9), exact closed form
``proportional``    p_v = f + min(c − f, θ·μ_v), Σp = B (heuristic baseline)
``diminishing``     max Σ μ_v(1 − e^{−p_v/κ}) (concave; spreads patrol)
``detection_parity`` max μᵀp s.t. |D_min − D_maj| ≤ η (expected detection rates)
==================  ===========================================================

Risk is clipped at 0 before allocation (a predicted count is never negative; the
reference code clips too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Protocol

import numpy as np

from fase.allocation.closed_form import solve_dir_lp
from fase.allocation.detection_parity import solve_detection_parity
from fase.allocation.diminishing import solve_diminishing
from fase.allocation.groups import Groups
from fase.allocation.proportional import solve_proportional
from fase.config.allocation import AllocationConfig


class Policy(Protocol):
    """An allocation policy: ``allocate(risk (T, N), groups) -> patrol (T, N)``.

    ``rows_apart``: every step (row) is allocated on its own, to the bit: the rows of
    ``allocate(vstack(a, b))`` are those of ``allocate(a)`` and ``allocate(b)``, so the
    simulator may allocate the rows of several simulations with one policy in one call
    (:mod:`fase.simulation.lockstep`). Policies are frozen dataclasses: equal settings,
    equal (and hashable) policies."""

    name: ClassVar[str]
    rows_apart: ClassVar[bool]

    def allocate(self, risk: np.ndarray, groups: Groups) -> np.ndarray:
        """Patrol units per step and area, (T, N), for risk (T, N)."""
        ...


def _risk(risk: np.ndarray, groups: Groups, floor: float, budget: float) -> np.ndarray:
    """Validate a (T, N) risk matrix against the groups; return it clipped at 0."""
    risk = np.asarray(risk, dtype=float)
    if risk.ndim != 2 or risk.shape[1] != groups.n_nodes:
        raise ValueError(f"risk must be (T, {groups.n_nodes}), got shape {risk.shape}")
    if not np.all(np.isfinite(risk)):
        raise ValueError("risk must be finite")
    if groups.n_nodes * floor > budget * (1 + 1e-12):
        raise ValueError(f"floor {floor} × {groups.n_nodes} areas exceeds the budget {budget}")
    return np.clip(risk, 0.0, None)


@dataclass(frozen=True)
class PaperPolicy:
    """The paper's LP: maximise μᵀp s.t. Σp ≤ B, f ≤ p ≤ c, DIR (if ε).

    Solved exactly by :func:`solve_dir_lp`. Without a cap or floor, each step patrols
    exactly one area per group, and DIR sits on 1 − ε or 1 + ε (reference §4.3).
    """

    budget: float = 60.0
    epsilon: float | None = 0.05
    cap: float | None = None
    floor: float = 0.0
    name: ClassVar[str] = "paper"
    rows_apart: ClassVar[bool] = True

    def allocate(self, risk: np.ndarray, groups: Groups) -> np.ndarray:
        """(T, N) risk → (T, N) patrol."""
        risk = _risk(risk, groups, self.floor, self.budget)
        return solve_dir_lp(
            risk,
            groups.minority,
            self.budget,
            self.epsilon,
            self.cap,
            majority=groups.majority,
            floor=self.floor,
        )


@dataclass(frozen=True)
class ProportionalPolicy:
    """p_v = f + min(c − f, θ·μ_v) with Σp = B; DIR by moving group totals into the band.

    Details and the DIR adjustment: :mod:`fase.allocation.proportional`.
    """

    budget: float = 60.0
    epsilon: float | None = None
    cap: float | None = None
    floor: float = 0.0
    name: ClassVar[str] = "proportional"
    rows_apart: ClassVar[bool] = True

    def allocate(self, risk: np.ndarray, groups: Groups) -> np.ndarray:
        """(T, N) risk → (T, N) patrol."""
        risk = _risk(risk, groups, self.floor, self.budget)
        return solve_proportional(risk, groups, self.budget, self.epsilon, self.cap, self.floor)


@dataclass(frozen=True)
class DiminishingPolicy:
    """maximise Σ_v μ_v·(1 − exp(−p_v/κ)) s.t. Σp ≤ B, f ≤ p ≤ c, DIR (if ε).

    Exact water-filling plus a bisection on the DIR boundary:
    :mod:`fase.allocation.diminishing`.
    """

    budget: float = 60.0
    epsilon: float | None = 0.05
    cap: float | None = None
    floor: float = 0.0
    kappa: float = 5.0
    name: ClassVar[str] = "diminishing"
    rows_apart: ClassVar[bool] = True

    def allocate(self, risk: np.ndarray, groups: Groups) -> np.ndarray:
        """(T, N) risk → (T, N) patrol."""
        risk = _risk(risk, groups, self.floor, self.budget)
        return solve_diminishing(
            risk, groups, self.budget, self.kappa, self.epsilon, self.cap, self.floor
        )


@dataclass(frozen=True)
class DetectionParityPolicy:
    """maximise μᵀp s.t. Σp ≤ B, f ≤ p ≤ c, |D_min − D_maj| ≤ η, DIR (if ε).

    D_g = Σ_{v∈g} d(p_v)μ_v / Σ_{v∈g} μ_v with the detection model d of
    :mod:`fase.allocation.detection`; solved per step by HiGHS
    (:mod:`fase.allocation.detection_parity`). Not ``rows_apart``: where a step has
    several optima the vertex HiGHS returns can depend on the steps solved before it.
    """

    budget: float = 60.0
    tolerance: float = 0.05
    p_base: float = 0.30
    p_max: float = 0.90
    epsilon: float | None = None
    cap: float | None = None
    floor: float = 0.0
    name: ClassVar[str] = "detection_parity"
    rows_apart: ClassVar[bool] = False  # HiGHS warm-starts each step from the one before

    def allocate(self, risk: np.ndarray, groups: Groups) -> np.ndarray:
        """(T, N) risk → (T, N) patrol."""
        risk = _risk(risk, groups, self.floor, self.budget)
        return solve_detection_parity(
            risk,
            groups,
            self.budget,
            self.tolerance,
            self.p_base,
            self.p_max,
            self.epsilon,
            self.cap,
            self.floor,
        )


def _paper(c: AllocationConfig) -> Policy:
    return PaperPolicy(c.budget, c.epsilon, c.cap, c.floor)


def _proportional(c: AllocationConfig) -> Policy:
    return ProportionalPolicy(c.budget, c.epsilon, c.cap, c.floor)


def _diminishing(c: AllocationConfig) -> Policy:
    return DiminishingPolicy(c.budget, c.epsilon, c.cap, c.floor, c.kappa)


def _detection_parity(c: AllocationConfig) -> Policy:
    return DetectionParityPolicy(
        c.budget, c.detection_tolerance, c.p_base, c.p_max, c.epsilon, c.cap, c.floor
    )


POLICIES: dict[str, Callable[[AllocationConfig], Policy]] = {
    "paper": _paper,
    "proportional": _proportional,
    "diminishing": _diminishing,
    "detection_parity": _detection_parity,
}


def make_policy(config: AllocationConfig) -> Policy:
    """The policy named by ``config.policy``, configured from ``config``."""
    return POLICIES[config.policy](config)
