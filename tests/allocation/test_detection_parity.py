"""Detection-parity policy: its constraint holds and its optimum matches scipy's HiGHS."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from fase.allocation import (
    Groups,
    expected_detection_rate,
    solve_detection_parity,
    solve_dir_lp,
)
from fase.allocation.detection_parity import parity_rows


def test_gap_within_tolerance_and_optimal() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 15)
    groups = Groups(labels == 1, labels == 0)
    mu = rng.gamma(0.6, 1.0, (80, 15))
    eta = 0.02
    p = solve_detection_parity(mu, groups, 60.0, eta, epsilon=None, cap=25.0)
    gap = expected_detection_rate(p, mu, groups.minority, 60.0) - expected_detection_rate(
        p, mu, groups.majority, 60.0
    )
    assert np.abs(gap).max() <= eta + 1e-9
    # Independent formulation: D_min − D_maj written out from the detection model.
    k = 0.6 / 60
    for t in range(0, 80, 8):
        row = k * mu[t] * (groups.minority / mu[t, groups.minority].sum())
        row -= k * mu[t] * (groups.majority / mu[t, groups.majority].sum())
        res = linprog(
            -mu[t],
            A_ub=np.array([np.ones(15), row, -row]),
            b_ub=[60.0, eta, eta],
            bounds=(0, 25.0),
            method="highs-ds",
        )
        assert abs(mu[t] @ p[t] + res.fun) <= 1e-7 * max(1.0, abs(res.fun))


def test_loose_tolerance_is_the_unconstrained_lp() -> None:
    rng = np.random.default_rng(1)
    minority = rng.random(10) < 0.5
    groups = Groups.from_minority(minority)
    mu = rng.gamma(1.0, 1.0, (30, 10))
    p = solve_detection_parity(mu, groups, 60.0, 1.0, epsilon=0.05)
    exact = solve_dir_lp(mu, minority, 60.0, 0.05)
    np.testing.assert_allclose((mu * p).sum(1), (mu * exact).sum(1), rtol=1e-9)


def test_undefined_rate_drops_the_row() -> None:
    groups = Groups.from_minority(np.array([True, False, False]))
    risk = np.array([[0.0, 1.0, 2.0], [1.0, 1.0, 2.0]])
    rows, lower, upper = parity_rows(risk, groups, 60.0, 0.3, 0.9, 0.05)
    assert np.isinf(upper[0, 0]) and np.isneginf(lower[0, 0])
    np.testing.assert_allclose(rows[1, 0], [0.01, -0.01 / 3, -0.02 / 3])
    p = solve_detection_parity(risk[:1], groups, 60.0, 0.05)
    np.testing.assert_allclose(p, [[0, 0, 60]])
