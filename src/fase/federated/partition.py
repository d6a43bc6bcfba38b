"""Clients of a federation: K contiguous groups of areas, and each group's own data.

A client stands for a police district: a group of neighbouring areas whose incidents
stay with it. :func:`partition_areas` grows K regions over the contiguity graph A_geo:

1. seeds — the first is the area farthest (in hops over A_geo) from an area drawn with
   ``seed``, so it lies on the city's edge; each next one is the area farthest from the
   seeds chosen so far (ties: the lowest index);
2. growth — repeatedly, the smallest region (ties: the lowest client index) that borders
   an unassigned area takes the bordering area closest in hops to its seed (ties: the
   lowest index), until every area belongs to a region.

Every area belongs to exactly one client, every client has at least one area, and each
region is connected in A_geo whenever A_geo is connected (the areas it takes always
border it). On a disconnected graph an area no region can reach is given to the
smallest region, which then is not contiguous. The result depends only on A_geo, K and
``seed``. :func:`client_data` cuts one client's :class:`~fase.forecasters.ForecastData` out of
the city's: its areas' rows and the subgraph among them (edges to other clients' areas
are cut, so a graph model sees only its own district).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path

from fase.errors import FaseInputError
from fase.forecasters.data import ForecastData
from fase.graph import Graph
from fase.graph.stats import graph_stats


def _hops(adjacency: np.ndarray) -> np.ndarray:
    """(N, N) float64 hop distances over the non-zeros of ``adjacency``; N where unreachable."""
    hops = shortest_path(csr_matrix(adjacency != 0), directed=False, unweighted=True)
    return np.where(np.isfinite(hops), hops, float(adjacency.shape[0]))


def _seeds(hops: np.ndarray, clients: int, seed: int) -> list[int]:
    """The area farthest from a random one, then farthest-point areas (ties: lowest index)."""
    drawn = int(np.random.default_rng(seed).integers(hops.shape[0]))
    first = int(np.argmax(hops[drawn]))
    seeds, nearest = [first], hops[first].copy()
    for _ in range(1, clients):
        farthest = int(np.argmax(nearest))  # a chosen seed is 0 hops away: never again
        seeds.append(farthest)
        nearest = np.minimum(nearest, hops[farthest])
    return seeds


def partition_areas(adjacency: np.ndarray, clients: int, seed: int) -> np.ndarray:
    """The client of each area (module docstring).

    Args:
        adjacency: (N, N) contiguity A_geo (non-zero: the areas border each other).
        clients: K, 2 ≤ K ≤ N.
        seed: draws the first seed area.
    Returns:
        (N,) int64 client index 0 … K − 1 of each area.
    """
    adjacency = np.asarray(adjacency)
    n = adjacency.shape[0]
    if adjacency.ndim != 2 or adjacency.shape != (n, n):
        raise FaseInputError("graph", f"A_geo must be square (N, N), got {adjacency.shape}")
    if not 2 <= clients <= n:
        raise FaseInputError(
            "--clients", f"must be between 2 and the number of areas ({n}), got {clients}"
        )
    neighbours = (adjacency != 0) | (adjacency.T != 0)
    hops = _hops(neighbours)
    seeds = _seeds(hops, clients, seed)
    owner = np.full(n, -1, dtype=np.int64)
    owner[seeds] = np.arange(clients)
    sizes = np.ones(clients, dtype=np.int64)
    border = neighbours[seeds].copy()  # (K, N): areas bordering each region
    border[:, seeds] = False
    for _ in range(n - clients):
        growable = np.flatnonzero(border.any(axis=1))
        if growable.size:
            region = int(growable[np.argmin(sizes[growable])])
            candidates = np.flatnonzero(border[region])
            area = int(candidates[np.argmin(hops[seeds[region], candidates])])
        else:  # the rest cannot be reached from any region: a disconnected graph
            region = int(np.argmin(sizes))
            area = int(np.flatnonzero(owner < 0)[0])
        owner[area] = region
        sizes[region] += 1
        border[region] |= neighbours[area]
        border[:, owner >= 0] = False
    return owner


def client_areas(owner: np.ndarray) -> list[np.ndarray]:
    """Each client's area indices (ascending), clients in order: K arrays of int64."""
    return [np.flatnonzero(owner == k) for k in range(int(owner.max()) + 1)]


def _subgraph(graph: Graph, areas: np.ndarray) -> Graph:
    """The graph among ``areas`` only (rows and columns of every matrix)."""
    cut = np.ix_(areas, areas)
    a_geo, a_thresh, a_combined = graph.A_geo[cut], graph.A_feat_thresh[cut], graph.A_combined[cut]
    islands = np.flatnonzero(a_geo.sum(axis=1) == 0).astype(np.int64)
    return Graph(
        node_ids=[graph.node_ids[i] for i in areas],
        A_geo=a_geo,
        A_geo_norm=graph.A_geo_norm[cut],
        A_feat=graph.A_feat[cut],
        A_feat_thresh=a_thresh,
        A_combined=a_combined,
        stats=graph_stats(a_geo, a_thresh, a_combined, islands.size),
        islands=islands,
    )


def client_data(data: ForecastData, areas: np.ndarray) -> ForecastData:
    """``data`` restricted to ``areas`` (indices, ascending): their features, counts,
    groups and land areas, and the subgraph among them. Time axis, split and scaling
    are the city's (the features were standardised with the city's training statistics,
    a simplification: see docs/federated.md)."""
    areas = np.asarray(areas, dtype=np.int64)
    return dataclasses.replace(
        data,
        x=data.x[areas],
        x_raw=data.x_raw[areas],
        y=data.y[areas],
        y_types=None if data.y_types is None else data.y_types[areas],
        graph=_subgraph(data.graph, areas),
        groups=data.groups[areas],
        area_km2=data.area_km2[areas],
    )
