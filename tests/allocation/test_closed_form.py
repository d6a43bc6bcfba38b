"""The closed-form LP solution against HiGHS, hand-computed optima and the paper's numbers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lp_reference import Instance, solve_stacked

from fase.allocation import gini, solve_dir_lp

INSTANCES_PER_EXAMPLE = 40
EXAMPLES = 250  # 250 × 40 = 10,000 random instances

spec = st.fixed_dictionaries(
    {
        "n": st.integers(2, 200),
        "seed": st.integers(0, 2**32 - 1),
        "risk": st.sampled_from(["continuous", "ties", "zeros", "signed", "nonpositive"]),
        "groups": st.sampled_from(["two", "with_unknown", "one_empty"]),
        "epsilon": st.one_of(st.just(0.0), st.floats(0.0, 0.5), st.none()),
        "cap": st.sampled_from(["none", "binding", "tight", "total_below_budget"]),
        "floor": st.booleans(),
        "budget": st.sampled_from([60.0, 1.0, 7.3, 250.0]),
    }
)


def make_instance(s: dict) -> Instance:
    rng = np.random.default_rng(s["seed"])
    n, budget = s["n"], s["budget"]
    mu = {
        "continuous": lambda: rng.gamma(0.7, 1.0, n),
        "ties": lambda: rng.integers(0, 4, n).astype(float),
        "zeros": lambda: rng.gamma(0.7, 1.0, n) * (rng.random(n) < 0.3),
        "signed": lambda: rng.normal(size=n),
        "nonpositive": lambda: -rng.integers(0, 3, n).astype(float),
    }[s["risk"]]()
    labels = rng.integers(0, 3 if s["groups"] == "with_unknown" else 2, n)
    if s["groups"] == "one_empty":
        labels[:] = rng.integers(0, 2)
    cap = {
        "none": None,
        "binding": budget * rng.uniform(0.05, 0.9),
        "tight": budget / n * rng.uniform(1.0, 3.0),
        "total_below_budget": budget / n * rng.uniform(0.2, 1.0),
    }[s["cap"]]
    upper = budget if cap is None else min(cap, budget)
    floor = float(rng.uniform(0, min(upper, budget / n))) if s["floor"] else 0.0
    return Instance(mu, labels == 1, labels == 0, budget, s["epsilon"], cap, floor)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(spec, min_size=INSTANCES_PER_EXAMPLE, max_size=INSTANCES_PER_EXAMPLE))
def test_closed_form_equals_highs_on_random_instances(specs: list[dict]) -> None:
    instances = [make_instance(s) for s in specs]
    optimum = solve_stacked(instances)
    for inst, best in zip(instances, optimum, strict=True):
        p = solve_dir_lp(
            inst.mu,
            inst.minority,
            inst.budget,
            inst.epsilon,
            inst.cap,
            majority=inst.majority,
            floor=inst.floor,
        )
        assert inst.violation(p) <= 1e-9
        assert abs(inst.mu @ p - best) <= 1e-9 * max(1.0, abs(best))


@pytest.fixture
def paper_groups() -> np.ndarray:
    """14 minority and 11 majority areas in a scrambled order."""
    minority = np.zeros(25, dtype=bool)
    minority[np.random.default_rng(7).permutation(25)[:14]] = True
    return minority


def test_paper_setting_is_bang_bang(paper_groups: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    mu = rng.random((2000, 25))  # distinct risks
    p = solve_dir_lp(mu, paper_groups, budget=60.0, epsilon=0.05)
    s1, s0 = p[:, paper_groups].sum(1), p[:, ~paper_groups].sum(1)
    dir_ = (s1 / 14) / (s0 / 11)
    minority_top = mu[:, paper_groups].max(1) > mu[:, ~paper_groups].max(1)
    # Hand-computed: r = (1 ± ε)·14/11, S1 = B·r/(1 + r).
    np.testing.assert_allclose(dir_, np.where(minority_top, 1.05, 0.95), rtol=0, atol=1e-12)
    np.testing.assert_allclose(s1, np.where(minority_top, 60 * 14.7 / 25.7, 60 * 13.3 / 24.3))
    assert set(np.round(s1, 4)) == {34.3191, 32.8395}
    assert set(np.round(gini(p), 6)) == {0.925759, 0.923786}
    np.testing.assert_allclose(s1 + s0, 60.0)
    assert np.all((p > 0).sum(1) == 2)
    rows = np.arange(2000)
    top_min = np.flatnonzero(paper_groups)[mu[:, paper_groups].argmax(1)]
    top_maj = np.flatnonzero(~paper_groups)[mu[:, ~paper_groups].argmax(1)]
    np.testing.assert_allclose(p[rows, top_min], s1)
    np.testing.assert_allclose(p[rows, top_maj], s0)


def test_binding_cap_hand_example() -> None:
    # ε = 0 forces equal group totals; the pairs (5, 1) then (4, 0.5) are filled to cap 3
    # at 6 and 4.5 per unit of s (2 budget units each): s = 5 → (3, 2 | 3, 2), objective 27.
    mu = np.array([5.0, 4.0, 1.0, 0.5])
    p = solve_dir_lp(mu, np.array([True, True, False, False]), budget=10, epsilon=0.0, cap=3)
    np.testing.assert_allclose(p, [3, 2, 3, 2])
    assert mu @ p == pytest.approx(27.0)


def test_unknown_areas_are_outside_the_constraint() -> None:
    minority, majority = np.array([True, False, False]), np.array([False, True, False])
    p = solve_dir_lp(np.array([1.0, 2.0, 10.0]), minority, majority=majority)
    np.testing.assert_allclose(p, [0, 0, 60])  # DIR 0/0 is not violated
    # Cap 20: the free area takes 20; minority (zero risk) must get ≥ 0.95 × majority's 20.
    p = solve_dir_lp(np.array([0.0, 2.0, 10.0]), minority, cap=20, majority=majority)
    np.testing.assert_allclose(p, [19, 20, 20])


def test_negative_risk_area_patrolled_only_when_it_pays() -> None:
    # ε = 0: p_min = p_maj, objective 10·p0 − p1 = 9·p0 > 0, so both get B/2.
    p = solve_dir_lp(np.array([-1.0, 10.0]), np.array([True, False]), budget=10, epsilon=0.0)
    np.testing.assert_allclose(p, [5, 5])
    # Not worth it when the negative area costs more than the positive one earns.
    p = solve_dir_lp(np.array([-20.0, 10.0]), np.array([True, False]), budget=10, epsilon=0.0)
    np.testing.assert_allclose(p, [0, 0])


def test_nonpositive_risk_gives_zero_or_floor() -> None:
    mu = -np.abs(np.random.default_rng(1).normal(size=(5, 6)))
    minority = np.array([1, 0, 1, 0, 1, 0], dtype=bool)
    np.testing.assert_array_equal(solve_dir_lp(mu, minority), 0.0)
    np.testing.assert_array_equal(solve_dir_lp(np.zeros((3, 6)), minority), 0.0)
    np.testing.assert_allclose(solve_dir_lp(mu, minority, floor=2.0), 2.0)


def test_ties_go_to_the_lower_index() -> None:
    p = solve_dir_lp(np.ones(4), np.array([True, True, False, False]), epsilon=0.05)
    r = 1.05
    np.testing.assert_allclose(p, [60 * r / (1 + r), 0, 60 / (1 + r), 0])


def test_without_dir_or_with_an_empty_group_it_is_greedy() -> None:
    mu = np.array([3.0, 1.0, 2.0])
    np.testing.assert_allclose(
        solve_dir_lp(mu, np.array([1, 0, 0], bool), epsilon=None), [60, 0, 0]
    )
    np.testing.assert_allclose(solve_dir_lp(mu, np.zeros(3, bool), cap=25), [25, 10, 25])


def test_epsilon_zero_gives_exact_parity() -> None:
    rng = np.random.default_rng(3)
    minority = rng.random(30) < 0.4
    p = solve_dir_lp(rng.gamma(1, 1, (50, 30)), minority, epsilon=0.0, cap=7.0)
    np.testing.assert_allclose(p[:, minority].mean(1), p[:, ~minority].mean(1), rtol=1e-12)


def test_shapes_and_chunking_agree() -> None:
    rng = np.random.default_rng(4)
    minority = rng.random(12) < 0.5
    mu = rng.gamma(1, 1, (200_000 // 12 + 7, 12))  # more than one chunk
    p = solve_dir_lp(mu, minority, cap=9.0)
    np.testing.assert_allclose(p[5], solve_dir_lp(mu[5], minority, cap=9.0))
    assert p.shape == mu.shape


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epsilon": 1.0}, "epsilon"),
        ({"floor": 30.0}, "floor"),
        ({"cap": 1.0, "floor": 2.0}, "cap"),
        ({"budget": -1.0}, "budget"),
    ],
)
def test_invalid_settings_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        solve_dir_lp(np.ones(4), np.array([1, 1, 0, 0], bool), **kwargs)


def test_mismatched_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="areas"):
        solve_dir_lp(np.ones((2, 5)), np.ones(4, bool))
    with pytest.raises(ValueError, match="finite"):
        solve_dir_lp(np.array([1.0, np.nan]), np.array([True, False]))
