"""Cosine feature similarity, raw and standardised, and its inclusive threshold."""

from __future__ import annotations

import numpy as np
import pytest

from fase.graph.similarity import feature_cosine, threshold_similarity

R = 1 / np.sqrt(2)


def test_raw_cosine_hand_computed_with_zero_vector():
    features = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]])
    expected = np.array(
        [
            [1, R, 0, 0],
            [R, 1, R, 0],
            [0, R, 1, 0],
            [0, 0, 0, 0],
        ],  # zero vector: cosine 0, even with itself
    )
    cosine = feature_cosine(features, np.ones(4, dtype=bool), standardize=False)
    np.testing.assert_allclose(cosine, expected, atol=1e-15)


def test_standardised_cosine_hand_computed():
    # Column means (2, 2); z-scores are proportional to (-1, 0), (0, 1), (1, -1).
    features = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 0.0]])
    expected = np.array([[1, 0, -R], [0, 1, -R], [-R, -R, 1]])
    cosine = feature_cosine(features, np.ones(3, dtype=bool), standardize=True)
    np.testing.assert_allclose(cosine, expected, atol=1e-15)


def test_invalid_nodes_get_no_similarity_and_do_not_move_the_z_scores():
    features = np.array([[1.0, 2.0], [2.0, 4.0], [np.nan, 1e6], [3.0, 0.0]])
    valid = np.array([True, True, False, True])
    cosine = feature_cosine(features, valid, standardize=True)
    np.testing.assert_array_equal(cosine[2], 0.0)
    np.testing.assert_array_equal(cosine[:, 2], 0.0)
    kept = [0, 1, 3]
    np.testing.assert_allclose(
        cosine[np.ix_(kept, kept)], feature_cosine(features[kept], valid[kept], True), atol=1e-15
    )
    assert not threshold_similarity(cosine, 0.5)[2].any()


def test_constant_column_is_ignored_after_standardising():
    features = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])
    cosine = feature_cosine(features, np.ones(3, dtype=bool), standardize=True)
    np.testing.assert_allclose(cosine, [[1, 0, -1], [0, 0, 0], [-1, 0, 1]], atol=1e-15)


def test_threshold_is_inclusive_at_exactly_theta():
    # cos((1,1,0), (1,0,1)) = 1/2 exactly; in floating point it evaluates to 0.4999999999999999.
    features = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    cosine = feature_cosine(features, np.ones(3, dtype=bool), standardize=False)
    kept = threshold_similarity(cosine, 0.5)
    assert kept[0, 1] == pytest.approx(0.5, abs=1e-15)
    assert kept[1, 2] == pytest.approx(R, abs=1e-15)
    assert kept[0, 2] == 0.0  # cosine 0
    np.testing.assert_array_equal(np.diag(kept), 0.0)
    assert threshold_similarity(cosine, 0.5 + 1e-9)[0, 1] == 0.0


def test_negative_cosines_never_pass():
    cosine = np.array([[1.0, -0.9], [-0.9, 1.0]])
    np.testing.assert_array_equal(threshold_similarity(cosine, 0.5), np.zeros((2, 2)))


def test_rejects_non_finite_features_of_valid_nodes():
    with pytest.raises(ValueError, match="finite"):
        feature_cosine(np.array([[np.nan, 1.0]]), np.array([True]), standardize=False)
