"""The detection model d(p) and group detection rates, against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from fase.allocation import detection_probability, expected_detection_rate


def test_detection_probability_hand_values() -> None:
    # Reference §9: the paper LP's patrolled areas are detected at 0.64319 / 0.55681
    # (DIR = 1.05) or 0.62840 / 0.57160 (DIR = 0.95); unpatrolled areas at 0.30.
    s1_hi, s1_lo = 60 * 14.7 / 25.7, 60 * 13.3 / 24.3
    d = detection_probability(np.array([s1_hi, 60 - s1_hi, s1_lo, 60 - s1_lo, 0.0]), 60.0)
    np.testing.assert_allclose(d, [0.64319, 0.55681, 0.62840, 0.57160, 0.30], atol=5e-6)
    np.testing.assert_allclose(detection_probability(np.array([-1.0, 90.0]), 60.0), [0.3, 0.9])
    with pytest.raises(ValueError, match="budget"):
        detection_probability(np.ones(2), 0.0)


def test_expected_detection_rate_is_risk_weighted() -> None:
    patrol = np.array([[60.0, 0.0, 30.0]])
    risk = np.array([[1.0, 3.0, 2.0]])
    mask = np.array([True, True, False])
    # (0.9·1 + 0.3·3) / 4 = 0.45; the third area alone: d(30) = 0.6.
    np.testing.assert_allclose(expected_detection_rate(patrol, risk, mask, 60.0), [0.45])
    np.testing.assert_allclose(expected_detection_rate(patrol, risk, ~mask, 60.0), [0.6])
    zero = expected_detection_rate(patrol, np.zeros((1, 3)), mask, 60.0)
    assert np.isnan(zero[0])
