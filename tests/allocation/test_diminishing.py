"""Diminishing-returns policy: optimality against scipy.optimize, KKT, spreading, DIR."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from fase.allocation import Groups, diminishing_value, dir_ratio, solve_diminishing


def scipy_optimum(mu, groups, budget, kappa, epsilon, cap, floor, rng) -> float:
    """Best SLSQP objective over a few feasible starts (independent of our method)."""
    n, hi = mu.size, min(cap or budget, budget)
    constraints = [{"type": "ineq", "fun": lambda x: budget - x.sum()}]
    if epsilon is not None and groups.both_present:
        m1 = lambda x: x[groups.minority].mean()  # noqa: E731
        m0 = lambda x: x[groups.majority].mean()  # noqa: E731
        constraints += [
            {"type": "ineq", "fun": lambda x: (1 + epsilon) * m0(x) - m1(x)},
            {"type": "ineq", "fun": lambda x: m1(x) - (1 - epsilon) * m0(x)},
        ]
    best = -np.inf
    for _ in range(4):
        x0 = np.full(n, floor) + rng.uniform(0, 1, n) * (min(hi, budget / n) - floor)
        res = minimize(
            lambda x: -diminishing_value(x, mu, kappa),
            x0,
            method="SLSQP",
            bounds=[(floor, hi)] * n,
            constraints=constraints,
            options={"ftol": 1e-14, "maxiter": 1000},
        )
        feasible = all(c["fun"](res.x) >= -1e-8 for c in constraints)
        if feasible and res.x.min() >= floor - 1e-9 and res.x.max() <= hi + 1e-9:
            best = max(best, -res.fun)
    return best


@pytest.mark.parametrize("seed", range(40))
def test_matches_scipy_on_small_instances(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 7))
    labels = rng.integers(0, 3 if seed % 3 == 0 else 2, n)
    groups = Groups(labels == 1, labels == 0)
    mu = rng.gamma(1.0, 1.0, n) * (rng.random(n) < 0.8)
    budget, kappa = float(rng.uniform(1, 20)), float(rng.uniform(0.3, 5))
    epsilon = None if seed % 5 == 0 else float(rng.uniform(0, 0.5))
    cap = None if seed % 2 else float(rng.uniform(budget / n, budget))
    floor = 0.0 if seed % 4 else float(rng.uniform(0, min(cap or budget, budget) / n))
    p = solve_diminishing(mu[None], groups, budget, kappa, epsilon, cap, floor)[0]
    hi = min(cap or budget, budget)
    assert p.sum() <= budget + 1e-9 and p.min() >= floor - 1e-12 and p.max() <= hi + 1e-12
    if epsilon is not None and groups.both_present:
        ratio = dir_ratio(p[None], groups)[0]
        assert (1 - epsilon) - 1e-9 <= ratio <= (1 + epsilon) + 1e-9
    ours = diminishing_value(p, mu, kappa)
    assert ours >= scipy_optimum(mu, groups, budget, kappa, epsilon, cap, floor, rng) - 1e-8


def test_unconstrained_solution_satisfies_kkt() -> None:
    rng = np.random.default_rng(1)
    mu = rng.gamma(1.0, 1.0, (20, 25))
    kappa = 3.0
    p = solve_diminishing(mu, Groups.from_minority(np.zeros(25, bool)), 60.0, kappa)
    np.testing.assert_allclose(p.sum(1), 60.0)
    marginal = mu / kappa * np.exp(-p / kappa)
    for t in range(20):
        active = p[t] > 1e-9
        # Equal marginal value on patrolled areas, no higher marginal on the others.
        np.testing.assert_allclose(marginal[t, active], marginal[t, active][0], rtol=1e-9)
        assert marginal[t, ~active].max(initial=0) <= marginal[t, active][0] * (1 + 1e-9)


def test_spreads_over_many_areas_and_respects_dir() -> None:
    rng = np.random.default_rng(2)
    minority = np.zeros(25, bool)
    minority[:14] = True
    groups = Groups.from_minority(minority)
    mu = rng.gamma(0.5, 1.0, (300, 25))
    p = solve_diminishing(mu, groups, 60.0, 5.0, epsilon=0.05)
    assert (p > 1e-9).sum(1).mean() > 5
    ratio = dir_ratio(p, groups)
    assert np.all((ratio >= 0.95 - 1e-9) & (ratio <= 1.05 + 1e-9))


def test_zero_risk_group_is_patrolled_only_as_forced() -> None:
    groups = Groups.from_minority(np.array([True, True, False]))
    p = solve_diminishing(np.array([[0.0, 0.0, 1.0]]), groups, 10.0, 2.0, epsilon=0.0)
    # ε = 0: minority total = 2 × majority total; the whole budget pays (μ_maj > 0), so
    # each area gets B/3, the zero-risk minority areas sharing their forced total equally.
    np.testing.assert_allclose(p, [[10 / 3, 10 / 3, 10 / 3]])
    np.testing.assert_array_equal(solve_diminishing(np.zeros((2, 3)), groups, 10.0, 2.0), 0.0)
