"""Group fairness of forecasts: the risk-level classifier and the count forecasts.

Every area belongs to a demographic group (``"minority"``, ``"majority"`` or ``"unknown"``,
from Phase 1); every (bin, area) cell inherits its area's group. Cells of areas whose
group is ``"unknown"`` are left out of every metric here (their count is reported as
``excluded_cells``), so the comparison is between the known groups only; at least two
known groups must remain.

Risk-level classifier (:func:`risk_fairness`), via :mod:`fairlearn.metrics`: a cell is
*high risk* when its level is ≥ ``high_level`` (default 4), for the true and the
predicted levels alike. With selection rate s_g = P(pred high | group g), true-positive
rate TPR_g and false-positive rate FPR_g:

    demographic_parity_difference = max_g s_g − min_g s_g          (0 = parity)
    demographic_parity_ratio      = min_g s_g / max_g s_g          (1 = parity)
    equalized_odds_difference     = max(max_g TPR_g − min_g TPR_g,
                                        max_g FPR_g − min_g FPR_g)  (0 = parity)

All three come from one fairlearn ``MetricFrame`` of selection rate, TPR and FPR by group
(``difference()`` and ``ratio()`` between groups, as fairlearn's own
``demographic_parity_*`` and ``equalized_odds_difference`` compute them). These depend on
each group's confusion counts only, so the cells are first collapsed to their distinct
(true, predicted, group) triples weighted by their number (``sample_weight``): the same
numbers as one row per cell, without fairlearn's per-row cost (seconds on a city's test
split). TPR_g needs a truly high-risk cell in g and FPR_g a truly low-risk one.
fairlearn would silently count an undefined rate as 0; here the equalized-odds difference
is NaN when any group lacks either class (``undefined_rates`` counts such groups).

Count forecasts (:func:`error_parity`): MAE_g = mean |E[Y] − y| over group g's cells,
with difference max_g MAE_g − min_g MAE_g and ratio min_g MAE_g / max_g MAE_g (fairlearn's
between-groups convention), computed directly as group means.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

from fase.errors import FaseInputError

UNKNOWN_GROUP = "unknown"
HIGH_RISK_LEVEL = 4


def area_groups(groups: np.ndarray, num_areas: int) -> tuple[np.ndarray, np.ndarray]:
    """The known group names (sorted) and each area's index into them (−1: unknown).

    Args:
        groups: (N,) group label per area.
        num_areas: N of the arrays being scored.
    Returns:
        (names (G,) str, codes (N,) int64).
    """
    labels = np.asarray(groups, dtype=str)
    if labels.ndim != 1 or labels.size != num_areas:
        raise FaseInputError(
            "groups", f"need one group per area ({num_areas}), got shape {labels.shape}"
        )
    known = labels != UNKNOWN_GROUP
    names = np.unique(labels[known])
    if names.size < 2:
        raise FaseInputError(
            "groups",
            "fewer than two known groups among the areas",
            f"group fairness compares groups; areas labelled {UNKNOWN_GROUP!r} are left out",
        )
    codes = np.full(labels.size, -1, dtype=np.int64)
    codes[known] = np.searchsorted(names, labels[known])
    return names, codes


def _cells(name: str, values: np.ndarray, shape: tuple[int, ...] | None = None) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2 or (shape is not None and array.shape != shape):
        expected = "a (T, N) array" if shape is None else f"shape {shape}"
        raise FaseInputError(name, f"need {expected}, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise FaseInputError(name, "values must be finite (found NaN or ±inf)")
    return array


def _confusion_cells(
    high_true: np.ndarray, high_pred: np.ndarray, group: np.ndarray, names: np.ndarray
) -> pd.DataFrame:
    """Distinct (true, pred, group) triples of the cells, with their number in ``weight``.

    Args:
        high_true, high_pred: (C,) 0/1 flags; group: (C,) group index into ``names``.
    """
    key = (high_true * 2 + high_pred) * names.size + group
    weight = np.bincount(key, minlength=4 * names.size)
    present = np.flatnonzero(weight)
    return pd.DataFrame(
        {
            "true": present // (2 * names.size),
            "pred": present // names.size % 2,
            "group": names[present % names.size],
            "weight": weight[present].astype(np.float64),
        }
    )


def risk_fairness(
    y_level: np.ndarray,
    pred_level: np.ndarray,
    groups: np.ndarray,
    high_level: int = HIGH_RISK_LEVEL,
) -> dict[str, float]:
    """Demographic parity and equalized odds of the high-risk flag by group.

    Args:
        y_level: (T, N) true risk levels (1–5).
        pred_level: (T, N) predicted risk levels.
        groups: (N,) group per area; ``"unknown"`` areas are left out.
        high_level: a cell is high risk when its level is ≥ this.
    Returns:
        ``demographic_parity_difference``, ``demographic_parity_ratio``,
        ``equalized_odds_difference`` (NaN if a group lacks a class), per group g
        ``selection_rate_<g>``, ``tpr_<g>``, ``fpr_<g>`` (NaN when undefined),
        ``undefined_rates`` (groups lacking a true class) and ``excluded_cells``.
    """
    truth = _cells("y_level", y_level)
    predicted = _cells("pred_level", pred_level, truth.shape)
    names, codes = area_groups(groups, truth.shape[1])
    per_cell = np.broadcast_to(codes, truth.shape).ravel()
    known = per_cell >= 0
    cells = _confusion_cells(
        (truth.ravel() >= high_level)[known].astype(np.int64),
        (predicted.ravel() >= high_level)[known].astype(np.int64),
        per_cell[known],
        names,
    )
    y_true, y_pred, group = cells["true"], cells["pred"], cells["group"]
    weights = cells["weight"].to_numpy()
    metrics = {
        "selection_rate": selection_rate,
        "tpr": true_positive_rate,
        "fpr": false_positive_rate,
    }
    frame = MetricFrame(
        metrics=metrics,
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=group,
        sample_params={name: {"sample_weight": weights} for name in metrics},
    )
    gaps, ratios = frame.difference(), frame.ratio()
    scores: dict[str, float] = {
        "demographic_parity_difference": float(gaps["selection_rate"]),
        "demographic_parity_ratio": float(ratios["selection_rate"]),
    }
    undefined = 0
    for name in frame.by_group.index:
        classes = set(y_true[group == name])
        undefined += int(classes != {0, 1})
        rates = frame.by_group.loc[name]
        scores[f"selection_rate_{name}"] = float(rates["selection_rate"])
        scores[f"tpr_{name}"] = float(rates["tpr"]) if 1 in classes else np.nan
        scores[f"fpr_{name}"] = float(rates["fpr"]) if 0 in classes else np.nan
    scores["equalized_odds_difference"] = (
        float(max(gaps["tpr"], gaps["fpr"])) if undefined == 0 else np.nan
    )
    scores["undefined_rates"] = float(undefined)
    scores["excluded_cells"] = float((~known).sum())
    return scores


def error_parity(y_true: np.ndarray, expected: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    """MAE of the expected count by group, and its difference and ratio between groups.

    Args:
        y_true: (T, N) observed counts.
        expected: (T, N) predicted expected counts E[Y].
        groups: (N,) group per area; ``"unknown"`` areas are left out.
    Returns:
        ``mae_<g>`` per group, ``mae_difference`` (max − min, incidents per bin),
        ``mae_ratio`` (min / max; NaN when every MAE is 0) and ``excluded_cells``.
    """
    truth = _cells("y_true", y_true)
    predicted = _cells("expected", expected, truth.shape)
    names, codes = area_groups(groups, truth.shape[1])
    per_cell = np.broadcast_to(codes, truth.shape).ravel()
    known = per_cell >= 0
    errors = np.abs(predicted - truth).ravel()[known]
    mae = np.bincount(per_cell[known], weights=errors) / np.bincount(per_cell[known])
    scores = {f"mae_{name}": float(value) for name, value in zip(names, mae, strict=True)}
    scores["mae_difference"] = float(mae.max() - mae.min())
    scores["mae_ratio"] = float(mae.min() / mae.max()) if mae.max() > 0 else np.nan
    scores["excluded_cells"] = float((~known).sum())
    return scores
