"""Per-cycle metrics of a deployment: every quantity of one history row.

All inputs are the (L, N) arrays of one :class:`~fase.simulation.deployment.Deployment`
(L bins × N areas): patrol p, risk r (what the policy allocated on), true counts y,
observed counts o, and the forecast E[Y] and log p(·). Group masks are N-vectors.
Formulas are in docs/simulation.md; the allocation formulas are those of
:mod:`fase.allocation.metrics` (one definition each).
"""

from __future__ import annotations

import numpy as np

from fase.allocation.groups import Groups
from fase.allocation.metrics import (
    PATROLLED_THRESHOLD,
    coverage,
    dir_ratio,
    gini,
    group_mean,
    risk_share,
)
from fase.simulation.deployment import CycleOutcome

PAPER_COLUMNS = (
    "cycle",
    "zinb_loss_mean",
    "zinb_loss_final",
    "dir_mean",
    "dir_std",
    "gini_mean",
    "coverage_mean",
    "mean_min_patrol",
    "mean_maj_patrol",
    "obs_dir_mean",
    "true_dir_mean",
    "detection_ratio_min",
    "detection_ratio_maj",
)
"""Columns of the reference code's ``simulation_history.csv``, in its order."""

PER_AREA_ARRAYS = ("mean_risk", "mean_patrol", "detection_rate", "true_count", "observed_count")

REFERENCE_SMOOTHING = 1e-6  # s in (m_min + s)/(m_maj + s), reference DIR of patrols and counts
REFERENCE_RATIO_EPS = 1e-9  # added to the denominator of the reference detection ratio


def detection_ratio(observed: np.ndarray, true: np.ndarray, mask: np.ndarray) -> float:
    """Reference detection ratio Σ_{t, v∈g} o / (Σ_{t, v∈g} y + 1e-9) (dimensionless)."""
    mask = np.asarray(mask, dtype=bool)
    return float(observed[:, mask].sum() / (true[:, mask].sum() + REFERENCE_RATIO_EPS))


def detection_rate(observed: np.ndarray, true: np.ndarray, mask: np.ndarray) -> float:
    """Realised detection rate Σ_{t, v∈g} o / Σ_{t, v∈g} y; NaN if the group had no incident."""
    mask = np.asarray(mask, dtype=bool)
    total = true[:, mask].sum()
    return float(observed[:, mask].sum() / total) if total > 0 else float("nan")


def _loss_summary(losses: list[float]) -> tuple[float, float]:
    """(mean over epochs, last epoch) of the retraining losses; NaN without retraining."""
    if not losses:
        return float("nan"), float("nan")
    return float(np.mean(losses)), float(losses[-1])


def paper_row(outcome: CycleOutcome, groups: Groups, budget: float) -> dict[str, float]:
    """The reference row (reference §5.2 step 5) for one cycle, keys :data:`PAPER_COLUMNS`.

    DIR of patrols and of counts with s = 1e-6 on both sides, population std over bins;
    coverage μᵀp/(B·max μ) with 0 where max μ = 0; mean patrols over all (bin, area) of
    a group; detection ratios Σo/(Σy + 1e-9). ``cycle`` is 1-based.
    """
    dep = outcome.deployment
    p, y, o = dep.patrol, dep.true, dep.observed
    dir_t = dir_ratio(p, groups, smoothing=REFERENCE_SMOOTHING)
    loss_mean, loss_final = _loss_summary(outcome.losses)
    return {
        "cycle": outcome.cycle + 1,
        "zinb_loss_mean": loss_mean,
        "zinb_loss_final": loss_final,
        "dir_mean": float(dir_t.mean()),
        "dir_std": float(dir_t.std()),
        "gini_mean": float(gini(p).mean()),
        "coverage_mean": float(np.nan_to_num(coverage(p, dep.risk, budget), nan=0.0).mean()),
        "mean_min_patrol": float(np.nan_to_num(group_mean(p, groups.minority)).mean()),
        "mean_maj_patrol": float(np.nan_to_num(group_mean(p, groups.majority)).mean()),
        "obs_dir_mean": float(dir_ratio(o, groups, smoothing=REFERENCE_SMOOTHING).mean()),
        "true_dir_mean": float(dir_ratio(y, groups, smoothing=REFERENCE_SMOOTHING).mean()),
        "detection_ratio_min": detection_ratio(o, y, groups.minority),
        "detection_ratio_maj": detection_ratio(o, y, groups.majority),
    }


def _nanstat(values: np.ndarray) -> tuple[float, float, int]:
    """(mean, population std, count of NaN) of a (L,) series, ignoring NaN."""
    finite = values[~np.isnan(values)]
    undefined = int(values.size - finite.size)
    if not finite.size:
        return float("nan"), float("nan"), undefined
    return float(finite.mean()), float(finite.std()), undefined


def _patrol_share(patrol: np.ndarray, mask: np.ndarray) -> float:
    """Share of all patrol units of the period that went to the areas in ``mask``."""
    total = patrol.sum()
    return float(patrol[:, mask].sum() / total) if total > 0 else float("nan")


def cycle_metrics(outcome: CycleOutcome, groups: Groups, budget: float) -> dict[str, float]:
    """Every column of ``history.csv`` for one cycle (definitions in docs/simulation.md)."""
    dep = outcome.deployment
    p, y, o = dep.patrol, dep.true, dep.observed
    expected = dep.forecast.expected
    dir_mean, dir_std, dir_undefined = _nanstat(dir_ratio(p, groups))
    loss_mean, loss_final = _loss_summary(outcome.losses)
    d_min = detection_rate(o, y, groups.minority)
    d_maj = detection_rate(o, y, groups.majority)
    return {
        "cycle": outcome.cycle + 1,
        "period_start": dep.start,
        "period_end": dep.stop,
        "forecast_passes": dep.passes,
        "loss_mean": loss_mean,
        "loss_final": loss_final,
        "retrain_bins": int(outcome.trained_bins.size),
        "dir_mean": dir_mean,
        "dir_std": dir_std,
        "dir_undefined_bins": dir_undefined,
        "gini_mean": float(gini(p).mean()),
        "coverage_mean": _nanstat(coverage(p, dep.risk, budget))[0],
        "risk_share_mean": _nanstat(risk_share(p, dep.risk))[0],
        "patrolled_areas_mean": float((p > PATROLLED_THRESHOLD).sum(axis=1).mean()),
        "mean_min_patrol": _nanstat(group_mean(p, groups.minority))[0],
        "mean_maj_patrol": _nanstat(group_mean(p, groups.majority))[0],
        "patrol_share_minority": _patrol_share(p, groups.minority),
        "patrol_share_majority": _patrol_share(p, groups.majority),
        "patrol_share_unknown": _patrol_share(p, groups.unknown),
        "detection_min": d_min,
        "detection_maj": d_maj,
        "detection_gap": d_min - d_maj,
        "forecast_mae_true": float(np.abs(expected - y).mean()),
        "forecast_mae_observed": float(np.abs(expected - o).mean()),
        "forecast_nll_true": float(-dep.forecast.log_prob(y).mean()),
        "forecast_nll_observed": float(-dep.forecast.log_prob(o).mean()),
        "true_total": float(y.sum()),
        "observed_total": float(o.sum()),
    }


def per_area(outcome: CycleOutcome) -> dict[str, np.ndarray]:
    """(N,) arrays of one cycle, keys :data:`PER_AREA_ARRAYS`.

    mean_risk and mean_patrol: means over the period's bins; true_count and
    observed_count: sums; detection_rate: observed/true sum, NaN where no incident.
    """
    dep = outcome.deployment
    true_count = dep.true.sum(axis=0)
    observed_count = dep.observed.sum(axis=0)
    safe = np.where(true_count > 0, true_count, 1.0)
    return {
        "mean_risk": dep.risk.mean(axis=0),
        "mean_patrol": dep.patrol.mean(axis=0),
        "detection_rate": np.where(true_count > 0, observed_count / safe, np.nan),
        "true_count": true_count,
        "observed_count": observed_count,
    }
