"""Fixtures of the training tests (the builders live in ``helpers.py``)."""

from __future__ import annotations

import numpy as np
import pytest
from tests.training.helpers import synthetic_series


@pytest.fixture
def series_data() -> tuple[np.ndarray, np.ndarray]:
    """x (5, 300, 13) and y (5, 300) of :func:`synthetic_series`."""
    return synthetic_series()
