"""Row normalisation and the paper's Eq. (1)."""

from __future__ import annotations

import numpy as np

from fase.graph.combine import combine_adjacency, row_normalize


def test_row_normalize_keeps_zero_rows_zero():
    adjacency = np.array([[0, 1, 1], [1, 0, 0], [0, 0, 0]], dtype=float)
    np.testing.assert_array_equal(row_normalize(adjacency), [[0, 0.5, 0.5], [1, 0, 0], [0, 0, 0]])


# Path 0 - 1 - 2 (A_geo_norm) and one feature pair 0 <-> 2 with cosine 0.8.
GEO_NORM = np.array([[0, 1, 0], [0.5, 0, 0.5], [0, 1, 0]])
FEAT = np.array([[0, 0, 0.8], [0, 0, 0], [0.8, 0, 0]])
PAPER = np.array(
    [
        [1.0, 0.6, 0.32],  # 0.6·1 ; 0.4·0.8
        [0.3, 1.0, 0.3],
        [0.32, 0.6, 1.0],
    ]
)


def test_paper_combination_sets_diagonal_to_one_without_normalising():
    combined = combine_adjacency(GEO_NORM, FEAT, 0.6, 0.4, self_loops=True, normalize="none")
    np.testing.assert_allclose(combined, PAPER, atol=1e-15)
    np.testing.assert_allclose(combined.sum(axis=1), [1.92, 1.6, 1.92])


def test_row_normalised_combination():
    combined = combine_adjacency(GEO_NORM, FEAT, 0.6, 0.4, self_loops=True, normalize="row")
    np.testing.assert_allclose(combined, PAPER / PAPER.sum(axis=1, keepdims=True), atol=1e-15)
    np.testing.assert_allclose(combined.sum(axis=1), 1.0)


def test_without_self_loops_diagonal_stays_zero():
    combined = combine_adjacency(GEO_NORM, FEAT, 0.6, 0.4, self_loops=False, normalize="none")
    np.testing.assert_array_equal(np.diag(combined), 0.0)
    assert combined[0, 2] == 0.4 * 0.8
