"""Typed settings of the allocation phase (Phase 4).

Defaults are the paper's (B = 60, ε = 0.05, p_base = 0.30, p_max = 0.90) except
``risk``: the corrected default allocates on the ZINB expected count (1 − π)·μ,
whereas the reference code allocates on the NB mean μ (reference §7.1 item 5).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from fase.config.dataset import Strict

PolicyName = Literal["paper", "proportional", "diminishing", "detection_parity"]


class AllocationConfig(Strict):
    """How patrols are allocated from a (T, N) risk matrix.

    Attributes:
        policy: which policy (see :mod:`fase.allocation.policies`).
        budget: B, patrol units per step.
        epsilon: DIR tolerance ε: (1−ε)·p̄_maj ≤ p̄_min ≤ (1+ε)·p̄_maj. ``None``: no DIR constraint.
        cap: per-area maximum patrol (``None``: B, i.e. no cap).
        floor: minimum patrol per area (N·floor ≤ B is checked when N is known).
        kappa: κ of the ``diminishing`` policy: patrol units at which an area's
            coverage 1 − e^{−p/κ} reaches 63%.
        p_base, p_max: detection model d(p) = p_base + (p_max − p_base)·clip(p/B, 0, 1).
        detection_tolerance: η of ``detection_parity``: |D_min − D_maj| ≤ η (rate units).
        risk: which forecast array to allocate on: ``"expected"`` ((1 − π)·μ) or ``"mu"``.
    """

    policy: PolicyName = "paper"
    budget: float = Field(60.0, gt=0)
    epsilon: float | None = Field(0.05, ge=0, lt=1)
    cap: float | None = Field(None, gt=0)
    floor: float = Field(0.0, ge=0)
    kappa: float = Field(5.0, gt=0)
    p_base: float = Field(0.30, ge=0, le=1)
    p_max: float = Field(0.90, ge=0, le=1)
    detection_tolerance: float = Field(0.05, ge=0)
    risk: Literal["expected", "mu"] = "expected"

    @model_validator(mode="after")
    def _consistent(self) -> AllocationConfig:
        if self.p_max < self.p_base:
            raise ValueError("p_max must be ≥ p_base")
        if self.floor > self.budget:
            raise ValueError("floor must not exceed the budget")
        if self.cap is not None and self.cap < self.floor:
            raise ValueError("cap must be ≥ floor")
        return self
