"""AllocationConfig: paper defaults, strictness and consistency checks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from fase.allocation import AllocationConfig


def test_defaults_are_the_papers() -> None:
    c = AllocationConfig()
    assert (c.policy, c.budget, c.epsilon, c.cap, c.p_base, c.p_max) == (
        "paper",
        60.0,
        0.05,
        None,
        0.30,
        0.90,
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"unknown_key": 1},
        {"policy": "greedy"},
        {"epsilon": 1.0},
        {"p_base": 0.9, "p_max": 0.3},
        {"cap": 1.0, "floor": 2.0},
        {"budget": 0.0},
        {"risk": "pi"},
    ],
)
def test_invalid_settings_fail(bad: dict) -> None:
    with pytest.raises(ValidationError):
        AllocationConfig(**bad)


def test_frozen() -> None:
    with pytest.raises(ValidationError):
        AllocationConfig().budget = 5.0  # type: ignore[misc]
