"""Exact water-filling against a brute-force bisection on the level."""

from __future__ import annotations

import numpy as np

from fase.allocation.waterfill import LevelFill


def brute_level(w: np.ndarray, a: np.ndarray, lo: float, hi: float, total: float) -> float:
    left, right = -1e6, 1e6
    for _ in range(200):
        mid = 0.5 * (left + right)
        if np.clip(w * mid + a, lo, hi).sum() < total:
            left = mid
        else:
            right = mid
    return right


def test_amounts_match_brute_force_and_sum_to_total() -> None:
    rng = np.random.default_rng(0)
    w = rng.gamma(1.0, 1.0, (200, 9)) * (rng.random((200, 9)) < 0.8)
    a = rng.normal(size=(200, 9))
    lo, hi = 0.5, 4.0
    curve = LevelFill.build(w, a, lo, hi)
    totals = rng.uniform(9 * lo, curve.active_capacity)
    amounts = curve.amounts(totals)
    np.testing.assert_allclose(amounts.sum(1), totals, rtol=1e-12)
    for t in range(0, 200, 10):
        active = w[t] > 0
        theta = brute_level(w[t][active], a[t][active], lo, hi, totals[t] - lo * (~active).sum())
        expected = np.where(active, np.clip(w[t] * theta + a[t], lo, hi), lo)
        np.testing.assert_allclose(amounts[t], expected, atol=1e-9)


def test_overflow_is_shared_by_inactive_areas() -> None:
    w = np.array([[1.0, 0.0, 2.0, 0.0]])
    curve = LevelFill.build(w, np.zeros_like(w), 0.0, 3.0)
    np.testing.assert_allclose(curve.amounts(np.array([8.0])), [[3, 1, 3, 1]])
    np.testing.assert_allclose(curve.amounts(np.array([4.5])), [[1.5, 0, 3, 0]])
    uniform = LevelFill.build(np.zeros((1, 3)), np.zeros((1, 3)), 0.0, 10.0)
    np.testing.assert_allclose(uniform.amounts(np.array([6.0])), [[2, 2, 2]])
    assert np.isnan(uniform.level(np.array([6.0]))[0])
