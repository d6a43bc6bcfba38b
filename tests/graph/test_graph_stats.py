"""Graph statistics on a hand-computed 3-node graph."""

from __future__ import annotations

import json
import math

import numpy as np

from fase.graph.combine import combine_adjacency, row_normalize
from fase.graph.stats import graph_stats

A_GEO = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=float)
FEAT = np.array([[0, 0, 0.8], [0, 0, 0], [0.8, 0, 0]])


def test_stats_of_paper_style_combination():
    combined = combine_adjacency(row_normalize(A_GEO), FEAT, 0.6, 0.4, True, "none")
    stats = graph_stats(A_GEO, FEAT, combined, islands=0)
    assert (stats.nodes, stats.geo_edges, stats.feat_edges, stats.combined_nnz) == (3, 4, 2, 9)
    assert stats.geo_mean_degree == 4 / 3
    assert stats.feat_mean_degree == 2 / 3
    assert stats.offdiag_weight_min == 0.3  # 0.6 / 2 from the degree-2 middle node
    assert stats.offdiag_weight_max == 0.6
    assert (stats.weight_min, stats.weight_max) == (0.3, 1.0)
    assert math.isclose(stats.row_sum_min, 1.6) and math.isclose(stats.row_sum_max, 1.92)
    assert stats.density == 1.0


def test_empty_off_diagonal_and_outputs():
    identity = np.eye(2)
    stats = graph_stats(np.zeros((2, 2)), np.zeros((2, 2)), identity, islands=2)
    assert stats.combined_nnz == 2 and stats.islands == 2 and stats.density == 0.5
    assert math.isnan(stats.offdiag_weight_min) and stats.weight_min == 1.0
    json.dumps(stats.to_dict(), allow_nan=True)
    table = stats.to_markdown()
    assert "| A_combined non-zeros | 2 |" in table
    assert "| Row sums | [1.0000, 1.0000] |" in table
