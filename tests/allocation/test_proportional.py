"""Proportional policy: exact shares, cap redistribution, zero risk, DIR adjustment."""

from __future__ import annotations

import numpy as np

from fase.allocation import Groups, dir_ratio, solve_proportional

NO_GROUPS = Groups.from_minority(np.zeros(3, bool))


def test_uncapped_is_budget_times_risk_share() -> None:
    rng = np.random.default_rng(0)
    mu = rng.gamma(1.0, 1.0, (50, 8))
    p = solve_proportional(mu, Groups.from_minority(np.zeros(8, bool)), 60.0)
    np.testing.assert_allclose(p, 60 * mu / mu.sum(1, keepdims=True), rtol=1e-12)


def test_cap_excess_is_redistributed_in_proportion() -> None:
    # min(5, 10θ) + θ + θ = 12 → θ = 3.5.
    p = solve_proportional(np.array([[10.0, 1.0, 1.0]]), NO_GROUPS, 12.0, cap=5.0)
    np.testing.assert_allclose(p, [[5, 3.5, 3.5]])
    p = solve_proportional(np.array([[10.0, 1.0, 1.0]]), NO_GROUPS, 12.0, cap=5.0, floor=1.0)
    np.testing.assert_allclose(p, [[5, 3.5, 3.5]])  # same: floors are below the levels
    p = solve_proportional(np.array([[10.0, 1.0, 0.0]]), NO_GROUPS, 12.0, cap=5.0, floor=1.0)
    np.testing.assert_allclose(p, [[5, 5, 2]])  # zero-risk area takes what is left


def test_all_zero_risk_is_uniform() -> None:
    np.testing.assert_allclose(solve_proportional(np.zeros((2, 3)), NO_GROUPS, 60.0), 20.0)


def test_dir_band_by_moving_group_totals() -> None:
    groups = Groups.from_minority(np.array([True, False]))
    p = solve_proportional(np.array([[9.0, 1.0]]), groups, 10.0, epsilon=0.25)
    # Unconstrained (9, 1) has DIR 9; moved to DIR 1.25 keeping the total 10.
    np.testing.assert_allclose(p, [[10 * 1.25 / 2.25, 10 / 2.25]])
    rng = np.random.default_rng(1)
    minority = rng.random(25) < 0.5
    mu = rng.gamma(0.5, 1.0, (200, 25))
    p = solve_proportional(mu, Groups.from_minority(minority), 60.0, epsilon=0.05, cap=20.0)
    ratio = dir_ratio(p, Groups.from_minority(minority))
    assert np.all((ratio >= 0.95 - 1e-9) & (ratio <= 1.05 + 1e-9))
    np.testing.assert_allclose(p.sum(1), 60.0)
