"""Risk levels fitted on training counts, their F1 scores and per-category MAE, by hand."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy import stats
from tests.forecasters.synthetic import spillover_city

from fase.errors import FaseInputError
from fase.evaluation.levels import RiskLevels, level_scores
from fase.forecasters.scores import training_levels
from fase.models.distributions import NegativeBinomial, Poisson

# 5 zeros and the positive counts 1…9: quartiles (linear) of the positives are 3, 5, 7,
# so τ = (1, 4, 6, 8): levels 0 | 1–3 | 4–5 | 6–7 | ≥ 8.
TRAIN = np.array([0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9])


def test_thresholds_and_levels_by_hand() -> None:
    levels = RiskLevels.fit(TRAIN)
    np.testing.assert_array_equal(levels.thresholds, [1, 4, 6, 8])
    counts = np.array([[0, 1, 3, 4], [5, 6, 7, 8], [9, 40, 0, 2]])
    np.testing.assert_array_equal(
        levels.transform(counts), [[1, 2, 2, 3], [3, 4, 4, 5], [5, 5, 1, 2]]
    )
    # training shares: 5 zeros, 3 in 1–3, 2 in 4–5, 2 in 6–7, 2 in 8–9 of 14 cells
    np.testing.assert_allclose(levels.shares(TRAIN), np.array([5, 3, 2, 2, 2]) / 14)


def test_tied_counts_give_distinct_thresholds_and_empty_levels() -> None:
    # positives 1×7, 2×1: every quartile is 1, so τ = (1, 2, 2→3, 2→4)
    train = np.array([0] * 12 + [1] * 7 + [2])
    levels = RiskLevels.fit(train)
    np.testing.assert_array_equal(levels.thresholds, [1, 2, 3, 4])
    np.testing.assert_allclose(levels.shares(train), [12 / 20, 7 / 20, 1 / 20, 0, 0])
    np.testing.assert_array_equal(levels.transform([0, 1, 2, 3, 4, 9]), [1, 2, 3, 4, 5, 5])


def test_bins_are_fitted_on_the_training_split_only() -> None:
    data = spillover_city(n=4, steps=400, seed=1)
    start, end = data.bounds("train")
    fitted = training_levels(data)
    np.testing.assert_array_equal(
        fitted.thresholds, RiskLevels.fit(data.y[:, start:end]).thresholds
    )
    later = data.y.copy()
    later[:, end:] = 50  # val and test counts change …
    unchanged = training_levels(replace(data, y=later))
    np.testing.assert_array_equal(unchanged.thresholds, fitted.thresholds)  # … edges do not
    earlier = data.y.copy()
    earlier[:, start:end] *= 10  # training counts change: the edges move
    moved = training_levels(replace(data, y=earlier))
    assert not np.array_equal(moved.thresholds, fitted.thresholds)


def test_all_zero_training_counts_are_refused() -> None:
    with pytest.raises(FaseInputError, match="no training bin"):
        RiskLevels.fit(np.zeros((3, 10)))


def test_level_of_expected_count_rounds_half_up() -> None:
    levels = RiskLevels.fit(TRAIN)  # τ = (1, 4, 6, 8)
    expected = np.array([0.0, 0.49, 0.5, 3.49, 3.5, 7.6])
    np.testing.assert_array_equal(levels.from_expected(expected), [1, 1, 2, 2, 3, 5])


@pytest.mark.parametrize("make", [lambda mu: Poisson(mu), lambda mu: NegativeBinomial(mu, mu / 2)])
def test_level_probabilities_match_scipy(make) -> None:
    levels = RiskLevels.fit(TRAIN)  # τ = (1, 4, 6, 8)
    mu = torch.tensor([[0.2, 2.0], [5.0, 9.0]], dtype=torch.float64)
    probabilities = levels.probabilities(make(mu))
    assert probabilities.shape == (5, 2, 2)
    if isinstance(make(mu), Poisson):
        cdf = stats.poisson(mu.numpy()).cdf
    else:
        theta = mu.numpy() / 2
        cdf = stats.nbinom(theta, theta / (theta + mu.numpy())).cdf
    reference = np.stack([cdf(0), cdf(3) - cdf(0), cdf(5) - cdf(3), cdf(7) - cdf(5), 1 - cdf(7)])
    np.testing.assert_allclose(probabilities, reference, atol=1e-12)
    np.testing.assert_array_equal(levels.from_distribution(make(mu)), 1 + reference.argmax(axis=0))


def test_most_probable_level_differs_from_point_forecast() -> None:
    # Poisson(0.6): P(0) = 0.55 > P(1–3) = 0.45 → level 1, but round(0.6) = 1 → level 2;
    # Poisson(0.9): P(0) = 0.41 < P(1–3) = 0.58 → level 2, and round(0.9) = 1 → level 2.
    levels = RiskLevels.fit(TRAIN)
    mu = torch.tensor([0.6, 0.9], dtype=torch.float64)
    np.testing.assert_array_equal(levels.from_distribution(Poisson(mu)), [1, 2])
    np.testing.assert_array_equal(levels.from_expected(mu.numpy()), [2, 2])


def test_f1_scores_by_hand() -> None:
    truth = np.array([1, 1, 1, 2, 2, 3, 4, 5])
    predicted = np.array([1, 1, 2, 2, 3, 3, 4, 4])
    # per level (TP, FP, FN) → F1 = 2TP / (2TP + FP + FN):
    # 1: (2, 0, 1) → 4/5; 2: (1, 1, 1) → 1/2; 3: (1, 1, 0) → 2/3;
    # 4: (1, 1, 0) → 2/3; 5: (0, 0, 1) → 0
    scores = level_scores(truth, predicted)
    assert scores["macro_f1"] == pytest.approx((4 / 5 + 1 / 2 + 2 / 3 + 2 / 3 + 0) / 5)
    assert scores["micro_f1"] == pytest.approx(5 / 8)  # accuracy


def test_f1_averages_over_levels_that_occur() -> None:
    # only levels 1 and 2 occur: F1 = 1 for both, whatever levels 3–5 would give
    assert level_scores([1, 2, 2], [1, 2, 2]) == {"macro_f1": 1.0, "micro_f1": 1.0}


def test_level_scores_refuse_bad_levels() -> None:
    with pytest.raises(FaseInputError, match="pred_level"):
        level_scores([1, 2], [1, 6])
    with pytest.raises(FaseInputError, match="pred_level"):
        level_scores([1, 2], [1, 2, 3])
