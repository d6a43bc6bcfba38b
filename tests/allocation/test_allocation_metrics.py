"""Allocation metrics against hand-computed values and independent formulas."""

from __future__ import annotations

import numpy as np
import pytest

from fase.allocation import (
    Groups,
    allocation_metrics,
    coverage,
    dir_ratio,
    gini,
    risk_share,
    summarize,
)

GROUPS = Groups(
    np.array([True, True, False, False, False]), np.array([False, False, True, True, False])
)


def test_dir_exact_undefined_and_reference_smoothing() -> None:
    values = np.array([[2.0, 2.0, 1.0, 1.0, 9.0], [1.0, 0.0, 0.0, 0.0, 5.0], [0.0] * 5])
    np.testing.assert_allclose(dir_ratio(values, GROUPS), [2.0, np.nan, np.nan])
    s = 1e-6
    np.testing.assert_allclose(
        dir_ratio(values, GROUPS, smoothing=s), [(2 + s) / (1 + s), (0.5 + s) / s, 1.0]
    )
    no_majority = Groups.from_minority(np.ones(5, bool))
    assert np.isnan(dir_ratio(values, no_majority)).all()


def test_gini_hand_values_and_mean_difference_formula() -> None:
    # Two non-zero entries a ≤ b of B = 60 among 25: G = (22a + 24b)/(25·60).
    two_hot = np.zeros((2, 25))
    two_hot[0, :2] = [60 * 14.7 / 25.7, 60 - 60 * 14.7 / 25.7]
    two_hot[1, :2] = [60 * 13.3 / 24.3, 60 - 60 * 13.3 / 24.3]
    np.testing.assert_allclose(gini(two_hot), [0.925759, 0.923786], atol=5e-7)
    rng = np.random.default_rng(0)
    x = rng.gamma(0.5, 1.0, (10, 7))
    mean_difference = np.abs(x[:, :, None] - x[:, None, :]).sum((1, 2)) / (2 * 7 * x.sum(1))
    np.testing.assert_allclose(gini(x), mean_difference, rtol=1e-12)
    np.testing.assert_allclose(gini(np.array([[1.0] * 4, [0.0] * 4, [0, 0, 0, 2.0]])), [0, 0, 0.75])


def test_coverage_definitions() -> None:
    patrol = np.array([[30.0, 0.0, 30.0, 0.0, 0.0], [0.0] * 5])
    risk = np.array([[4.0, 1.0, 2.0, 1.0, 0.0], [0.0] * 5])
    # Reference: (4·30 + 2·30) / (60·4) = 0.75; risk share: (4 + 2) / 8.
    np.testing.assert_allclose(coverage(patrol, risk, 60.0), [0.75, np.nan])
    np.testing.assert_allclose(risk_share(patrol, risk), [0.75, np.nan])
    unpatrolled_risk = risk + np.array([[0, 0, 0, 0, 2], [1, 0, 0, 0, 0]])
    np.testing.assert_allclose(risk_share(patrol, unpatrolled_risk), [0.6, 0.0])


def test_allocation_metrics_bundle() -> None:
    patrol = np.array([[30.0, 0.0, 20.0, 0.0, 10.0]])
    risk = np.array([[4.0, 1.0, 2.0, 1.0, 3.0]])
    m = allocation_metrics(patrol, risk, GROUPS, 60.0)
    assert m["dir"][0] == pytest.approx(15 / 10)
    assert m["mean_minority"][0] == 15 and m["mean_majority"][0] == 10
    assert m["n_patrolled"][0] == 3 and m["total_patrol"][0] == 60
    assert m["coverage"][0] == pytest.approx((120 + 40 + 30) / 240)
    # d(30) = 0.6, d(20) = 0.5, d(0) = 0.3 (the unknown area counts in neither group):
    # D_min = (0.6·4 + 0.3·1)/5 = 0.54; D_maj = (0.5·2 + 0.3·1)/3 = 1.3/3.
    assert m["detection_minority"][0] == pytest.approx(0.54)
    assert m["detection_majority"][0] == pytest.approx(1.3 / 3)
    assert m["detection_gap"][0] == pytest.approx(0.54 - 1.3 / 3)


def test_summarize_ignores_and_counts_undefined_steps() -> None:
    s = summarize({"dir": np.array([1.0, np.nan, 3.0]), "none": np.array([np.nan])})
    assert s["dir"] == {"mean": 2.0, "std": 1.0, "min": 1.0, "max": 3.0, "undefined": 1.0}
    assert np.isnan(s["none"]["mean"]) and s["none"]["undefined"] == 1.0
