"""Clients as contiguous districts: deterministic, a partition of the areas, K of them."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from tests.forecasters.synthetic import spillover_city

from fase.errors import FaseInputError
from fase.federated.partition import client_areas, client_data, partition_areas


def grid_adjacency(rows: int, cols: int) -> np.ndarray:
    """Rook contiguity of a rows × cols grid, cells numbered row by row."""
    n = rows * cols
    a = np.zeros((n, n))
    for r in range(rows):
        for c in range(cols):
            v = r * cols + c
            if c + 1 < cols:
                a[v, v + 1] = a[v + 1, v] = 1
            if r + 1 < rows:
                a[v, v + cols] = a[v + cols, v] = 1
    return a


def is_connected(adjacency: np.ndarray, areas: np.ndarray) -> bool:
    sub = adjacency[np.ix_(areas, areas)]
    return connected_components(csr_matrix(sub), directed=False)[0] == 1


@pytest.mark.parametrize(("rows", "cols", "clients"), [(3, 3, 4), (6, 7, 5), (8, 10, 8), (1, 9, 9)])
def test_partition_covers_each_area_once_with_k_contiguous_clients(rows, cols, clients) -> None:
    adjacency = grid_adjacency(rows, cols)
    owner = partition_areas(adjacency, clients, seed=7)
    assert owner.shape == (rows * cols,) and owner.dtype == np.int64
    assert set(owner.tolist()) == set(range(clients))  # exactly K clients, none empty
    groups = client_areas(owner)
    assert len(groups) == clients
    np.testing.assert_array_equal(np.sort(np.concatenate(groups)), np.arange(rows * cols))
    assert all(is_connected(adjacency, areas) for areas in groups)
    sizes = [len(a) for a in groups]
    assert max(sizes) - min(sizes) <= max(2, rows * cols // clients)  # roughly balanced


def test_partition_is_deterministic_given_the_seed_and_depends_on_it() -> None:
    adjacency = grid_adjacency(8, 10)
    first = partition_areas(adjacency, 6, seed=3)
    np.testing.assert_array_equal(first, partition_areas(adjacency.copy(), 6, seed=3))
    others = [partition_areas(adjacency, 6, seed=s) for s in range(4, 10)]
    assert any(not np.array_equal(first, other) for other in others)


def test_a_path_of_four_areas_into_two_clients_is_split_in_the_middle() -> None:
    # seeds at the two ends (farthest points), each region grows by one area
    path = grid_adjacency(1, 4)
    for seed in range(5):
        owner = partition_areas(path, 2, seed=seed)
        assert owner[0] == owner[1] != owner[2] == owner[3]


def test_disconnected_areas_still_get_exactly_one_client() -> None:
    adjacency = grid_adjacency(2, 3)
    adjacency[:, 5] = adjacency[5, :] = 0  # area 5 borders nobody
    owner = partition_areas(adjacency, 2, seed=0)
    assert set(owner.tolist()) == {0, 1} and owner.shape == (6,)


@pytest.mark.parametrize("clients", [1, 10])
def test_client_count_outside_two_to_n_is_refused(clients) -> None:
    with pytest.raises(FaseInputError, match="--clients"):
        partition_areas(grid_adjacency(3, 3), clients, seed=0)


def test_client_data_keeps_its_areas_rows_and_cuts_the_graph() -> None:
    data = spillover_city(n=6, steps=300)
    areas = np.array([1, 2, 4])
    local = client_data(data, areas)
    np.testing.assert_array_equal(local.y, data.y[areas])
    np.testing.assert_array_equal(local.x, data.x[areas])
    assert local.graph.node_ids == ["2", "3", "5"]
    # ring 0-1-2-3-4-5-0: inside {1, 2, 4} only 1–2 border each other; 4 is cut off
    np.testing.assert_array_equal(local.graph.A_geo, [[0, 1, 0], [1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(local.graph.islands, [2])
    assert local.split == data.split and local.num_steps == data.num_steps
