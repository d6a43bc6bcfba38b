"""Queen / fuzzy contiguity and island joining on synthetic maps."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from fase.graph.contiguity import contiguity_matrix, geographic_adjacency, join_islands

# Queen neighbours of the 3×3 grid (row-major from the south-west corner).
GRID3_QUEEN = np.array(
    [
        [0, 1, 0, 1, 1, 0, 0, 0, 0],
        [1, 0, 1, 1, 1, 1, 0, 0, 0],
        [0, 1, 0, 0, 1, 1, 0, 0, 0],
        [1, 1, 0, 0, 1, 0, 1, 1, 0],
        [1, 1, 1, 1, 0, 1, 1, 1, 1],
        [0, 1, 1, 0, 1, 0, 0, 1, 1],
        [0, 0, 0, 1, 1, 0, 0, 1, 0],
        [0, 0, 0, 1, 1, 1, 1, 0, 1],
        [0, 0, 0, 0, 1, 1, 0, 1, 0],
    ],
    dtype=float,
)


def test_queen_grid_matches_hand_matrix(make_areas, grid3):
    a_geo, islands = geographic_adjacency(make_areas(grid3))
    np.testing.assert_array_equal(a_geo, GRID3_QUEEN)
    np.testing.assert_array_equal(a_geo.sum(axis=1), [3, 5, 3, 5, 8, 5, 3, 5, 3])
    assert islands.size == 0


def test_fuzzy_grid_equals_queen_for_clean_tiling(make_areas, grid3):
    a_geo, _ = geographic_adjacency(make_areas(grid3), rule="fuzzy", tolerance_m=1.0)
    np.testing.assert_array_equal(a_geo, GRID3_QUEEN)


def test_island_joined_to_k_nearest_centroids(make_areas, grid3):
    x0, y0, _, _ = grid3[0].bounds
    # 10 km east of the grid, 0.3 km above the top row's centre line: nearest centroids are
    # node 8 (10.0045 km), then node 5 (10.084 km), then node 7 (11.004 km).
    island = shapely.box(x0 + 12_500, y0 + 2_300, x0 + 13_500, y0 + 3_300)
    a_geo, islands = geographic_adjacency(make_areas([*grid3, island]), island_k=2)
    np.testing.assert_array_equal(islands, [9])
    np.testing.assert_array_equal(np.flatnonzero(a_geo[9]), [5, 8])
    np.testing.assert_array_equal(a_geo, a_geo.T)
    np.testing.assert_array_equal(a_geo[:9, :9], GRID3_QUEEN)
    assert a_geo.sum() == GRID3_QUEEN.sum() + 4


def test_island_k_capped_at_n_minus_one(make_areas, grid3):
    x0, y0, _, _ = grid3[0].bounds
    island = shapely.box(x0 + 12_500, y0, x0 + 13_500, y0 + 1000)
    a_geo, _ = geographic_adjacency(make_areas([*grid3, island]), island_k=50)
    np.testing.assert_array_equal(a_geo[9], [1] * 9 + [0])


def test_queen_is_vertex_sharing_not_touching():
    # B touches A along part of A's east edge but shares no vertex with it.
    a = shapely.box(0, 0, 1000, 1000)
    b = shapely.box(1000, 250, 2000, 750)
    frame = _frame([a, b])
    np.testing.assert_array_equal(contiguity_matrix(frame, "queen"), np.zeros((2, 2)))
    np.testing.assert_array_equal(contiguity_matrix(frame, "fuzzy"), [[0, 1], [1, 0]])


def test_fuzzy_tolerance_bridges_gaps_up_to_twice_the_buffer():
    frame = _frame([shapely.box(0, 0, 1000, 1000), shapely.box(1010, 0, 2010, 1000)])  # 10 m gap
    assert contiguity_matrix(frame, "queen").sum() == 0
    assert contiguity_matrix(frame, "fuzzy", tolerance_m=4.0).sum() == 0
    np.testing.assert_array_equal(
        contiguity_matrix(frame, "fuzzy", tolerance_m=6.0), [[0, 1], [1, 0]]
    )


def test_join_islands_on_matrix_directly():
    adjacency = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=float)
    centroids = np.array([[0.0, 0.0], [10.0, 0.0], [12.0, 0.0]])
    joined, islands = join_islands(adjacency, centroids, k=1)
    np.testing.assert_array_equal(islands, [2])
    np.testing.assert_array_equal(joined, [[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    np.testing.assert_array_equal(adjacency[2], [0, 0, 0])  # input untouched


def _frame(polygons: list[shapely.Polygon]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=polygons, crs="EPSG:32616")
