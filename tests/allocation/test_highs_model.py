"""The reusable HiGHS model: same optimum as the closed form, parametric rows honoured."""

from __future__ import annotations

import numpy as np

from fase.allocation import Groups, PatrolLP, solve_dir_lp


def test_resolving_matches_the_closed_form() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 20)
    groups = Groups(labels == 1, labels == 0)
    mu = rng.gamma(0.8, 1.0, (300, 20)) * (rng.random((300, 20)) < 0.7)
    for cap, floor in ((None, 0.0), (8.0, 0.0), (6.0, 1.0)):
        model = PatrolLP(groups, 60.0, 0.1, cap, floor, tolerance=1e-10)
        p_highs = model.solve_steps(mu)
        p_exact = solve_dir_lp(
            mu, groups.minority, 60.0, 0.1, cap, majority=groups.majority, floor=floor
        )
        np.testing.assert_allclose((mu * p_highs).sum(1), (mu * p_exact).sum(1), rtol=1e-9)
        assert p_highs.sum(1).max() <= 60.0 + 1e-9
        assert p_highs.min() >= floor


def test_parametric_row_is_enforced_and_updated() -> None:
    groups = Groups.from_minority(np.array([True, False, False]))
    model = PatrolLP(groups, 10.0, None, n_parametric_rows=1)
    mu = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    # Step 0: p_2 ≤ 4; step 1: p_0 ≤ 1 (row coefficients change between steps).
    rows = np.array([[[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]]])
    p = model.solve_steps(mu, rows, np.full((2, 1), -np.inf), np.array([[4.0], [1.0]]))
    np.testing.assert_allclose(p, [[0, 6, 4], [1, 9, 0]])


def test_round_off_is_snapped_to_bounds() -> None:
    groups = Groups.from_minority(np.array([True, False, True, False]))
    p = PatrolLP(groups, 60.0, 0.05).solve(np.array([0.3, 0.1, 0.2, 0.4]))
    assert set(np.flatnonzero(p)) == {0, 3}
    assert np.all((p == 0) | (p > 1))
