"""Detection: the paper's model applied, expected and binomial observations."""

from __future__ import annotations

import numpy as np
import pytest

from fase.allocation import Groups, solve_dir_lp
from fase.simulation.detection import draw_incidents, observe
from fase.simulation.metrics import detection_ratio


def test_paper_lp_detection_rates_by_hand():
    # 14 minority and 11 majority areas, top risk in a minority area: S₁ = 60·14.7/25.7.
    minority = np.arange(25) < 14
    mu = np.linspace(1.0, 2.0, 25)[::-1].copy()  # area 0 (minority) has the top risk
    mu[14] = 1.9  # the top majority area
    patrol = solve_dir_lp(mu[None], minority, budget=60.0, epsilon=0.05)
    assert patrol[0, 0] == pytest.approx(34.3191, abs=1e-4)
    assert patrol[0, 14] == pytest.approx(25.6809, abs=1e-4)
    y = np.ones((1, 25))
    d, observed = observe(y, patrol, 60.0, 0.30, 0.90)
    assert d[0, 0] == pytest.approx(0.64319, abs=1e-5)
    assert d[0, 14] == pytest.approx(0.55681, abs=1e-5)
    others = np.delete(d[0], [0, 14])
    np.testing.assert_array_equal(others, 0.30)
    np.testing.assert_allclose(observed, d)


def test_group_detection_ratios_by_hand():
    # minority {0, 1}, majority {2}; y = [[2, 1, 4], [0, 3, 1]], d = 0.3 + 0.6·p/10.
    groups = Groups.from_minority([True, True, False])
    y = np.array([[2.0, 1.0, 4.0], [0.0, 3.0, 1.0]])
    p = np.array([[10.0, 0.0, 0.0], [0.0, 5.0, 5.0]])
    d, o = observe(y, p, 10.0, 0.3, 0.9)
    np.testing.assert_allclose(d, [[0.9, 0.3, 0.3], [0.3, 0.6, 0.6]])
    # minority: (1.8 + 0.3 + 0 + 1.8) / 6 = 0.65; majority: (1.2 + 0.6) / 5 = 0.36
    assert detection_ratio(o, y, groups.minority) == pytest.approx(3.9 / 6, abs=1e-9)
    assert detection_ratio(o, y, groups.majority) == pytest.approx(1.8 / 5, abs=1e-9)


def test_patrol_beyond_budget_saturates_at_p_max():
    d, _ = observe(np.ones((1, 2)), np.array([[120.0, -3.0]]), 60.0, 0.2, 0.8)
    np.testing.assert_allclose(d, [[0.8, 0.2]])


def test_binomial_reproducible_by_seed_and_never_above_truth():
    y = np.random.default_rng(0).poisson(3.0, (50, 6)).astype(float)
    p = np.tile(np.array([30.0, 0, 10, 0, 20, 0]), (50, 1))
    draws_a = draw_incidents(y, np.random.default_rng(11))
    draws_b = draw_incidents(y, np.random.default_rng(11))
    draws_c = draw_incidents(y, np.random.default_rng(12))
    _, a = observe(y, p, 60.0, 0.3, 0.9, draws_a)
    _, b = observe(y, p, 60.0, 0.3, 0.9, draws_b)
    _, c = observe(y, p, 60.0, 0.3, 0.9, draws_c)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.all(a <= y) and np.all(a == np.rint(a)) and np.all(a >= 0)


def test_binomial_thinning_has_the_binomial_mean_and_variance():
    # one cell with 200,000 incidents split over 4 cells; d = 0.3, 0.45, 0.6, 0.9
    y = np.full((1, 4), 50_000.0)
    p = np.array([[0.0, 15.0, 30.0, 60.0]])
    d = 0.3 + 0.6 * p / 60
    counts = []
    rng = np.random.default_rng(3)
    for _ in range(40):
        counts.append(observe(y, p, 60.0, 0.3, 0.9, draw_incidents(y, rng))[1][0])
    counts = np.array(counts)
    np.testing.assert_allclose(counts.mean(axis=0) / 50_000, d[0], atol=0.002)
    binomial_sd = np.sqrt(50_000 * d[0] * (1 - d[0]))
    np.testing.assert_allclose(counts.std(axis=0), binomial_sd, rtol=0.35)


def test_binomial_observation_is_monotone_in_patrol_for_fixed_draws():
    y = np.random.default_rng(1).poisson(4.0, (30, 5)).astype(float)
    draws = draw_incidents(y, np.random.default_rng(2))
    low = observe(y, np.full((30, 5), 5.0), 60.0, 0.3, 0.9, draws)[1]
    high = observe(y, np.full((30, 5), 40.0), 60.0, 0.3, 0.9, draws)[1]
    assert np.all(high >= low) and high.sum() > low.sum()


def test_binomial_needs_integer_counts():
    with pytest.raises(ValueError, match="integer"):
        draw_incidents(np.array([[0.5, 1.0]]), np.random.default_rng(0))
