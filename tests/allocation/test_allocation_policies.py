"""Policy registry and interface: names, config wiring, input checks, risk clipping."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from fase.allocation import (
    POLICIES,
    AllocationConfig,
    DiminishingPolicy,
    Groups,
    PaperPolicy,
    make_policy,
    solve_dir_lp,
)

GROUPS = Groups.from_minority(np.array([True, True, False, False, True]))


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_every_policy_allocates_within_the_budget(name: str) -> None:
    config = AllocationConfig(policy=name, cap=30.0, floor=1.0)
    policy = make_policy(config)
    assert policy.name == name
    risk = np.random.default_rng(0).gamma(0.7, 1.0, (40, 5))
    patrol = policy.allocate(risk, GROUPS)
    assert patrol.shape == risk.shape
    assert patrol.sum(1).max() <= 60 + 1e-9
    assert patrol.min() >= 1.0 - 1e-12 and patrol.max() <= 30.0 + 1e-12
    means = patrol[:, GROUPS.minority].mean(1), patrol[:, GROUPS.majority].mean(1)
    assert np.all(means[0] <= 1.05 * means[1] + 1e-9) and np.all(means[0] >= 0.95 * means[1] - 1e-9)


@pytest.mark.parametrize("floor", [0.0, 1.0])
@pytest.mark.parametrize("name", sorted(POLICIES))
def test_rows_apart_policies_allocate_each_row_on_its_own(name: str, floor: float) -> None:
    """The simulator allocates the rows of several simulations in one call where a
    policy says so: stacking rows then changes no row's allocation, to the bit (one row
    alone, or 7 with 33). Detection parity does not say so: HiGHS, warm-started from the
    step before, returns another optimum of a row without risk."""
    policy = make_policy(AllocationConfig(policy=name, floor=floor))
    if not policy.rows_apart:
        assert name == "detection_parity"
        return
    risk = np.random.default_rng(1).gamma(0.5, 1.0, (40, 5))
    risk[3] = 0.0  # a row without risk, and ties
    risk[5, :2] = risk[5, 2]
    together = policy.allocate(risk, GROUPS)
    for rows in (slice(0, 1), slice(3, 4), slice(5, 6), slice(0, 7), slice(7, 40)):
        np.testing.assert_array_equal(policy.allocate(risk[rows], GROUPS), together[rows])
    assert hash(policy) == hash(make_policy(AllocationConfig(policy=name, floor=floor)))


def test_config_reaches_the_policy() -> None:
    policy = make_policy(AllocationConfig(policy="diminishing", kappa=2.0, epsilon=None, budget=10))
    assert policy == DiminishingPolicy(budget=10.0, epsilon=None, kappa=2.0)


def test_paper_policy_clips_negative_risk() -> None:
    risk = np.array([[-5.0, 1.0, 2.0, -1.0, 0.5]])
    expected = solve_dir_lp(np.clip(risk, 0, None), GROUPS.minority, 60.0, 0.05)
    np.testing.assert_allclose(PaperPolicy().allocate(risk, GROUPS), expected)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\(T, 5\)"):
        PaperPolicy().allocate(np.ones(5), GROUPS)
    with pytest.raises(ValueError, match="finite"):
        PaperPolicy().allocate(np.full((2, 5), np.inf), GROUPS)
    with pytest.raises(ValueError, match="floor"):
        PaperPolicy(floor=13.0).allocate(np.ones((2, 5)), GROUPS)


def test_groups_from_labels() -> None:
    groups = Groups.from_labels(["minority", "unknown", "majority"])
    np.testing.assert_array_equal(groups.unknown, [False, True, False])
    with pytest.raises(ValueError, match="Minority"):
        Groups.from_labels(["Minority"])
    with pytest.raises(ValueError, match="both"):
        Groups(np.array([True]), np.array([True]))


def test_allocation_does_not_import_torch() -> None:
    code = "import sys, fase.allocation, fase.phases.allocate; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
