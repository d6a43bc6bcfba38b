"""Central-interval coverage against hand counts and exact Poisson probabilities."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from fase.errors import FaseInputError
from fase.evaluation import central_quantiles, coverage_table, interval_coverage


def test_coverage_counts_both_ends_as_inside() -> None:
    y = np.array([[0, 1, 2], [3, 0, 5]])
    lo = np.array([[0, 0, 0], [1, 1, 1]])
    hi = np.array([[1, 1, 1], [3, 3, 3]])
    # inside: 0∈[0,1] 1∈[0,1] 2∉[0,1] / 3∈[1,3] 0∉[1,3] 5∉[1,3]
    assert interval_coverage(y, lo, hi) == pytest.approx(3 / 6)
    np.testing.assert_allclose(interval_coverage(y, lo, hi, axis=0), [1.0, 0.5, 0.0])


def test_table_for_poisson_two_by_hand() -> None:
    # Poisson(2) cdf: 0.135, 0.406, 0.677, 0.857, 0.947, 0.983 at 0..5, so
    # 50 %: [Q(.25), Q(.75)] = [1, 3]; 80 %: [Q(.1), Q(.9)] = [0, 4]; 90 %: [0, 5].
    y = np.array([[0, 1, 2, 3, 4, 5, 6]])
    rows = coverage_table(y, lambda q: stats.poisson.ppf(q, np.full(y.shape, 2.0)))
    assert [r["level"] for r in rows] == [0.5, 0.8, 0.9]
    assert [r["q_lo"] for r in rows] == pytest.approx([0.25, 0.1, 0.05])
    assert [r["q_hi"] for r in rows] == pytest.approx([0.75, 0.9, 0.95])
    assert [r["coverage"] for r in rows] == pytest.approx([3 / 7, 5 / 7, 6 / 7])
    assert [r["mean_width"] for r in rows] == pytest.approx([2.0, 4.0, 5.0])


def test_calibrated_model_matches_exact_interval_mass() -> None:
    rng = np.random.default_rng(0)
    mu = rng.uniform(0.05, 4.0, size=(400, 25))
    y = rng.poisson(mu)
    rows = coverage_table(y, lambda q: stats.poisson.ppf(q, mu), levels=(0.5, 0.9))
    for row in rows:
        lo, hi = stats.poisson.ppf(row["q_lo"], mu), stats.poisson.ppf(row["q_hi"], mu)
        mass = stats.poisson.cdf(hi, mu) - stats.poisson.cdf(lo - 1, mu)  # P(lo ≤ Y ≤ hi)
        assert mass.mean() >= row["level"]  # discrete intervals are conservative
        se = np.sqrt((mass * (1 - mass)).sum()) / mass.size
        assert abs(row["coverage"] - mass.mean()) < 4 * se


def test_bad_intervals_raise() -> None:
    y = np.zeros((1, 2))
    with pytest.raises(FaseInputError, match="lower ≤ upper"):
        interval_coverage(y, np.array([[1.0, 0.0]]), np.array([[0.0, 0.0]]))
    with pytest.raises(FaseInputError, match="NaN"):
        interval_coverage(y, np.array([[np.nan, 0.0]]), np.zeros((1, 2)))
    with pytest.raises(FaseInputError, match="shape"):
        interval_coverage(y, np.zeros((2, 2)), np.zeros((2, 2)))
    for level in (0.0, 1.0, 1.2):
        with pytest.raises(FaseInputError, match="levels"):
            central_quantiles(level)
