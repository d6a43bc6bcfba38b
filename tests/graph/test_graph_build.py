"""build_graph end to end: the paper's weight structure, artefact round trip, Chicago."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fase.config.dataset import AreaSource
from fase.config.method import GraphMethod
from fase.data.areas import load_areas
from fase.errors import FaseInputError
from fase.graph import Graph, build_graph

PAPER = GraphMethod(standardize_features=False, normalize="none")
CHICAGO = Path(__file__).parents[2] / "src/fase/embedded/chicago/community_areas_acs2014.geojson.gz"


@pytest.fixture
def eight(make_areas, grid3):
    """3×3 grid without its north-east corner: centre node 4 has Queen degree 7.

    Features: every node (1, 0) except node 1 (0, 1), whose cosine with all others is 0.
    Queen degrees 3, 5, 3, 5, 7, 4, 3, 4 (34 directed edges).
    """
    features = np.tile([1.0, 0.0], (8, 1))
    features[1] = [0.0, 1.0]
    return make_areas(grid3[:8]), features


def test_paper_graph_numbers(eight):
    areas, features = eight
    graph = build_graph(areas, features, np.ones(8, dtype=bool), PAPER)
    np.testing.assert_array_equal(graph.A_geo.sum(axis=1), [3, 5, 3, 5, 7, 4, 3, 4])
    s = graph.stats
    # Feature edges: all 7·6 ordered pairs among the nodes other than 1.
    # Non-zeros: 42 feature pairs + 10 geo-only pairs touching node 1 + 8 diagonal.
    assert (s.geo_edges, s.feat_edges, s.combined_nnz, s.islands) == (34, 42, 60, 0)
    # Minimum: the geo-only edge 4 -> 1 from the degree-7 centre, 0.6/7 (paper: 0.0857).
    assert graph.A_combined[4, 1] == pytest.approx(0.6 / 7, abs=1e-15)
    assert s.offdiag_weight_min == pytest.approx(0.6 / 7, abs=1e-15)
    assert s.offdiag_weight_max == pytest.approx(0.6 / 3 + 0.4, abs=1e-15)  # e.g. 0 -> 3
    assert (s.weight_min, s.weight_max) == (s.offdiag_weight_min, 1.0)
    # Row sums: 1 + 0.6 + 0.4·6 = 4.0 for the similar nodes, 1 + 0.6 for node 1.
    assert s.row_sum_min == pytest.approx(1.6) and s.row_sum_max == pytest.approx(4.0)
    np.testing.assert_array_equal(np.diag(graph.A_combined), 1.0)


def test_default_graph_is_row_stochastic(eight):
    areas, features = eight
    graph = build_graph(areas, features, np.ones(8, dtype=bool), GraphMethod())
    np.testing.assert_allclose(graph.A_combined.sum(axis=1), 1.0, atol=1e-15)
    assert graph.A_combined[1, 0] == pytest.approx((0.6 / 5) / 1.6, abs=1e-15)


def test_invalid_node_keeps_only_geographic_edges(eight):
    areas, features = eight
    valid = np.ones(8, dtype=bool)
    valid[0] = False
    graph = build_graph(areas, features, valid, PAPER)
    assert not graph.A_feat_thresh[0].any() and not graph.A_feat_thresh[:, 0].any()
    np.testing.assert_array_equal(np.flatnonzero(graph.A_combined[0]), [0, 1, 3, 4])


def test_edge_index_and_round_trip(eight, tmp_path):
    areas, features = eight
    graph = build_graph(areas, features, np.ones(8, dtype=bool), PAPER)
    edges, weights = graph.edge_index()
    assert edges.dtype == np.int64 and edges.shape == (2, 60)
    rebuilt = np.zeros((8, 8))
    rebuilt[edges[0], edges[1]] = weights
    np.testing.assert_array_equal(rebuilt, graph.A_combined)
    assert np.all(np.diff(edges[0] * 8 + edges[1]) > 0)  # row-major order

    path = graph.save(tmp_path / "graph" / "graph.npz")
    with np.load(path, allow_pickle=False) as raw:
        assert raw["node_ids"].dtype.kind == "U"
        assert raw["A_combined"].dtype == np.float64
    loaded = Graph.load(path)
    assert loaded.node_ids == [str(i) for i in range(8)]
    assert loaded.stats == graph.stats
    for name in ("A_geo", "A_geo_norm", "A_feat", "A_feat_thresh", "A_combined"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(graph, name))


def test_bad_theta_and_shapes(eight):
    areas, features = eight
    with pytest.raises(FaseInputError, match=r"graph\.theta"):
        build_graph(areas, features, np.ones(8, dtype=bool), GraphMethod(theta=0.0))
    with pytest.raises(ValueError, match=r"\(8, d\)"):
        build_graph(areas, features[:7], np.ones(7, dtype=bool), PAPER)


def test_chicago_embedded_community_areas():
    areas = load_areas(
        AreaSource(path=str(CHICAGO), id_column="ComAreaID", name_column="community"), None
    )
    assert areas.n == 77 and areas.ids[:3] == ["1", "2", "3"] and areas.ids[-1] == "77"
    assert areas.frame["name"].iat[0] == "ROGERS PARK"
    assert areas.projected_crs.to_epsg() == 32616
    rng = np.random.default_rng(0)
    graph = build_graph(areas, rng.random((77, 3)), np.ones(77, dtype=bool), GraphMethod())
    assert graph.islands.size == 0
    assert graph.stats.geo_edges == 394  # libpysal Queen on the embedded polygons
    np.testing.assert_array_equal(graph.A_geo, graph.A_geo.T)
    np.testing.assert_allclose(graph.A_combined.sum(axis=1), 1.0, atol=1e-12)
