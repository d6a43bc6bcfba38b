"""Fixtures of the simulator's tests."""

from __future__ import annotations

import pytest
from tests.simulation.stubs import make_world

from fase.simulation.params import World


@pytest.fixture
def world() -> World:
    return make_world()
