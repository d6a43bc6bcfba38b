"""Fairness of risk levels and count forecasts by group, against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fairlearn.metrics import (
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
)

from fase.errors import FaseInputError
from fase.evaluation.fairness import error_parity, risk_fairness

# T = 2 bins × N = 5 areas; areas 0–1 minority, 2–3 majority, 4 unknown (left out).
GROUPS = np.array(["minority", "minority", "majority", "majority", "unknown"])
Y_LEVEL = np.array([[5, 2, 4, 1, 5], [4, 1, 2, 3, 1]])
PRED_LEVEL = np.array([[4, 4, 1, 2, 1], [2, 1, 5, 3, 5]])
# High risk = level ≥ 4, cell by cell (true, predicted):
#   minority: (1,1) (0,1) (1,0) (0,0) → selection 2/4, TPR 1/2, FPR 1/2
#   majority: (1,0) (0,0) (0,1) (0,0) → selection 1/4, TPR 0/1, FPR 1/3


def test_risk_fairness_by_hand() -> None:
    scores = risk_fairness(Y_LEVEL, PRED_LEVEL, GROUPS)
    assert scores["selection_rate_minority"] == pytest.approx(0.5)
    assert scores["selection_rate_majority"] == pytest.approx(0.25)
    assert scores["tpr_minority"] == pytest.approx(0.5)
    assert scores["tpr_majority"] == pytest.approx(0.0)
    assert scores["fpr_minority"] == pytest.approx(0.5)
    assert scores["fpr_majority"] == pytest.approx(1 / 3)
    assert scores["demographic_parity_difference"] == pytest.approx(0.5 - 0.25)
    assert scores["demographic_parity_ratio"] == pytest.approx(0.25 / 0.5)
    # max(|TPR gap|, |FPR gap|) = max(0.5, 1/6)
    assert scores["equalized_odds_difference"] == pytest.approx(0.5)
    assert scores["undefined_rates"] == 0
    assert scores["excluded_cells"] == 2


def test_unknown_areas_do_not_count() -> None:
    y_level, pred_level = Y_LEVEL.copy(), PRED_LEVEL.copy()
    y_level[:, 4], pred_level[:, 4] = [1, 5], [5, 1]
    assert risk_fairness(y_level, pred_level, GROUPS) == risk_fairness(Y_LEVEL, PRED_LEVEL, GROUPS)


def test_threshold_is_configurable_and_undefined_rates_give_nan() -> None:
    # High risk = level 5: minority true (1,0,0,0), predicted none → selection 0, TPR 0;
    # majority true none (TPR undefined), predicted (0,0,1,0) → selection 1/4, FPR 1/4.
    scores = risk_fairness(Y_LEVEL, PRED_LEVEL, GROUPS, high_level=5)
    assert scores["demographic_parity_difference"] == pytest.approx(0.25)
    assert scores["demographic_parity_ratio"] == pytest.approx(0.0)
    assert scores["tpr_minority"] == pytest.approx(0.0)
    assert math.isnan(scores["tpr_majority"])
    assert scores["fpr_majority"] == pytest.approx(0.25)
    assert math.isnan(scores["equalized_odds_difference"])  # fairlearn would report 0.25
    assert scores["undefined_rates"] == 1


def test_error_parity_by_hand() -> None:
    y = np.array([[1, 0, 3, 2, 9], [0, 2, 1, 1, 0]])
    expected = np.array([[2, 0, 3.5, 1.5, 0], [2, 1, 1, 2, 5]])
    # |errors| minority: 1, 0, 2, 1 → MAE 1; majority: 0.5, 0.5, 0, 1 → MAE 0.5
    scores = error_parity(y, expected, GROUPS)
    assert scores == {
        "mae_majority": pytest.approx(0.5),
        "mae_minority": pytest.approx(1.0),
        "mae_difference": pytest.approx(0.5),
        "mae_ratio": pytest.approx(0.5),
        "excluded_cells": 2,
    }


def test_perfect_forecast_has_no_mae_ratio() -> None:
    y = np.array([[1, 0, 3, 2, 9]])
    scores = error_parity(y, y, GROUPS)
    assert scores["mae_difference"] == 0
    assert math.isnan(scores["mae_ratio"])


def test_one_known_group_is_refused() -> None:
    groups = np.array(["minority"] * 4 + ["unknown"])
    with pytest.raises(FaseInputError, match="two known groups"):
        risk_fairness(Y_LEVEL, PRED_LEVEL, groups)
    with pytest.raises(FaseInputError, match="one group per area"):
        error_parity(Y_LEVEL, PRED_LEVEL, GROUPS[:4])


def test_collapsed_cells_match_fairlearn_on_every_cell() -> None:
    rng = np.random.default_rng(5)
    y_level = rng.integers(1, 6, size=(40, 6))
    pred_level = rng.integers(1, 6, size=(40, 6))
    groups = np.array(["minority", "majority", "minority", "unknown", "majority", "majority"])
    scores = risk_fairness(y_level, pred_level, groups)
    keep = np.broadcast_to(groups, y_level.shape) != "unknown"
    truth, predicted = (y_level >= 4)[keep], (pred_level >= 4)[keep]
    group = np.broadcast_to(groups, y_level.shape)[keep]
    for name, metric in [
        ("demographic_parity_difference", demographic_parity_difference),
        ("demographic_parity_ratio", demographic_parity_ratio),
        ("equalized_odds_difference", equalized_odds_difference),
    ]:
        assert scores[name] == pytest.approx(metric(truth, predicted, sensitive_features=group))
    for name in ("minority", "majority"):
        members = group == name
        assert scores[f"selection_rate_{name}"] == pytest.approx(predicted[members].mean())
        assert scores[f"tpr_{name}"] == pytest.approx(predicted[members & truth].mean())
        assert scores[f"fpr_{name}"] == pytest.approx(predicted[members & ~truth].mean())
