"""Phase 4: fairness-constrained patrol allocation (numpy only; no torch).

Policies say *what* to optimise (:mod:`~fase.allocation.policies`); solvers say *how*
(:mod:`~fase.allocation.closed_form`, :mod:`~fase.allocation.waterfill`,
:mod:`~fase.allocation.highs`). Metrics and the fairness–efficiency trade-off are
vectorised over steps. See docs/allocation.md for every formula.
"""

from fase.allocation.closed_form import solve_dir_lp
from fase.allocation.detection import detection_probability, expected_detection_rate
from fase.allocation.detection_parity import solve_detection_parity
from fase.allocation.diminishing import diminishing_value, solve_diminishing
from fase.allocation.groups import GROUP_LABELS, Groups
from fase.allocation.highs import PatrolLP
from fase.allocation.metrics import (
    allocation_metrics,
    coverage,
    dir_ratio,
    gini,
    group_mean,
    risk_share,
    summarize,
)
from fase.allocation.policies import (
    POLICIES,
    DetectionParityPolicy,
    DiminishingPolicy,
    PaperPolicy,
    Policy,
    ProportionalPolicy,
    make_policy,
)
from fase.allocation.proportional import solve_proportional
from fase.allocation.tradeoff import tradeoff_curve
from fase.config.allocation import AllocationConfig, PolicyName

__all__ = [
    "GROUP_LABELS",
    "POLICIES",
    "AllocationConfig",
    "DetectionParityPolicy",
    "DiminishingPolicy",
    "Groups",
    "PaperPolicy",
    "PatrolLP",
    "Policy",
    "PolicyName",
    "ProportionalPolicy",
    "allocation_metrics",
    "coverage",
    "detection_probability",
    "diminishing_value",
    "dir_ratio",
    "expected_detection_rate",
    "gini",
    "group_mean",
    "make_policy",
    "risk_share",
    "solve_detection_parity",
    "solve_diminishing",
    "solve_dir_lp",
    "solve_proportional",
    "summarize",
    "tradeoff_curve",
]
