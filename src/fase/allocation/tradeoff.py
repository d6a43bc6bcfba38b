"""Fairness–efficiency trade-off: coverage against |DIR − 1| and the detection gap.

For each policy, the fairness tolerance is swept: ε (the DIR band) for ``paper``,
``proportional`` and ``diminishing``; η (the detection-rate band, with DIR off) for
``detection_parity``. Each point is the mean over steps of the allocation metrics
(:mod:`fase.allocation.metrics`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from fase.allocation.groups import Groups
from fase.allocation.metrics import allocation_metrics
from fase.allocation.policies import make_policy
from fase.config.allocation import AllocationConfig, PolicyName

DEFAULT_TOLERANCES = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
ALL_POLICIES: tuple[PolicyName, ...] = ("paper", "proportional", "diminishing", "detection_parity")


def _swept(config: AllocationConfig, policy: PolicyName, tolerance: float) -> AllocationConfig:
    """``config`` for one point of the sweep: the policy with its fairness band set."""
    if policy == "detection_parity":
        update = {"policy": policy, "detection_tolerance": tolerance, "epsilon": None}
    else:
        update = {"policy": policy, "epsilon": tolerance}
    return AllocationConfig(**{**config.model_dump(), **update})


def tradeoff_curve(
    risk: np.ndarray,
    groups: Groups,
    config: AllocationConfig | None = None,
    policies: Iterable[PolicyName] = ALL_POLICIES,
    tolerances: Sequence[float] = DEFAULT_TOLERANCES,
) -> pd.DataFrame:
    """One row per (policy, tolerance) with the step-averaged metrics.

    Args:
        risk: (T, N) predicted incidents.
        groups: fairness groups of the N areas.
        config: budget, cap, floor, κ and detection model (its policy and tolerances
            are overridden by the sweep); default :class:`AllocationConfig`.
        policies: policy names to sweep.
        tolerances: ε values (η for ``detection_parity``), each in [0, 1).

    Returns:
        Columns ``policy, tolerance, coverage, risk_share, dir_deviation`` (mean |DIR − 1|
        over steps where DIR is defined), ``detection_gap`` (mean |D_min − D_maj|),
        ``gini, n_patrolled, seconds``.
    """
    config = config or AllocationConfig()
    rows = []
    for policy in policies:
        for tolerance in tolerances:
            swept = _swept(config, policy, float(tolerance))
            start = time.perf_counter()
            patrol = make_policy(swept).allocate(risk, groups)
            seconds = time.perf_counter() - start
            m = allocation_metrics(patrol, risk, groups, swept.budget, swept.p_base, swept.p_max)
            rows.append(
                {
                    "policy": policy,
                    "tolerance": float(tolerance),
                    "coverage": np.nanmean(m["coverage"]),
                    "risk_share": np.nanmean(m["risk_share"]),
                    "dir_deviation": np.nanmean(np.abs(m["dir"] - 1)),
                    "detection_gap": np.nanmean(np.abs(m["detection_gap"])),
                    "gini": np.nanmean(m["gini"]),
                    "n_patrolled": np.mean(m["n_patrolled"]),
                    "seconds": seconds,
                }
            )
    return pd.DataFrame(rows)
