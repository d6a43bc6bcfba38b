"""Geographic adjacency A_geo: Queen (or fuzzy) contiguity plus island joining.

A_geo is the binary, symmetric (N, N) matrix with ``A_geo[i, j] = 1`` iff areas i and
j are neighbours, and a zero diagonal. Contiguity is computed on the polygons
projected to the areas' metric CRS:

* ``queen``: libpysal's Queen rule, i.e. the two polygons share at least one vertex
  (identical coordinates), as in the paper's code;
* ``fuzzy``: libpysal's fuzzy contiguity, i.e. the polygons intersect after each is
  buffered by ``tolerance_m`` metres (for coarse polygons with gaps and overlaps).

Islands (degree 0) are joined to their k nearest neighbours by centroid distance
(libpysal KNN in the metric CRS), symmetrised.
"""

from __future__ import annotations

import warnings
from typing import Literal

import geopandas as gpd
import numpy as np
from libpysal import weights

from fase.data.areas import Areas

Contiguity = Literal["queen", "fuzzy"]


def contiguity_matrix(
    polygons: gpd.GeoDataFrame, rule: Contiguity = "queen", tolerance_m: float = 0.0
) -> np.ndarray:
    """Binary symmetric (N, N) contiguity of projected polygons (row order = node order)."""
    frame = polygons.reset_index(drop=True)
    with warnings.catch_warnings():
        # libpysal warns about islands (reported by the caller) and its own pandas use
        warnings.simplefilter("ignore")
        if rule == "queen":
            w = weights.Queen.from_dataframe(frame, use_index=False, silence_warnings=True)
        else:
            w = weights.fuzzy_contiguity(
                frame,
                buffering=tolerance_m > 0,
                buffer=tolerance_m if tolerance_m > 0 else None,
                silence_warnings=True,
            )
    return _dense(w, len(frame))


def join_islands(
    adjacency: np.ndarray, centroids: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Join every degree-0 node to its k nearest nodes (k capped at N-1), symmetrically.

    Args:
        adjacency: (N, N) binary symmetric matrix.
        centroids: (N, 2) centroid coordinates in metres.
        k: neighbours per island.

    Returns:
        The joined (N, N) matrix and the (I,) int64 indices of the islands found.
    """
    joined = adjacency.copy()
    islands = np.flatnonzero(adjacency.sum(axis=1) == 0).astype(np.int64)
    n = adjacency.shape[0]
    if islands.size == 0 or n < 2:
        return joined, islands
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        knn = weights.KNN.from_array(centroids, k=min(k, n - 1), silence_warnings=True)
    for i in islands:
        for j in knn.neighbors[int(i)]:
            joined[i, j] = joined[j, i] = 1.0
    return joined, islands


def geographic_adjacency(
    areas: Areas, rule: Contiguity = "queen", tolerance_m: float = 0.0, island_k: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """A_geo (N, N) of ``areas`` and the islands that were joined (node indices)."""
    projected = areas.frame[["geometry"]].to_crs(areas.projected_crs)
    adjacency = contiguity_matrix(projected, rule, tolerance_m)
    centroids = np.column_stack([projected.centroid.x, projected.centroid.y])
    return join_islands(adjacency, centroids, island_k)


def _dense(w: weights.W, n: int) -> np.ndarray:
    """Binary symmetric zero-diagonal matrix of a libpysal W with positional ids 0..n-1."""
    adjacency = np.zeros((n, n), dtype=np.float64)
    for i, neighbours in w.neighbors.items():
        adjacency[int(i), [int(j) for j in neighbours]] = 1.0
    adjacency = np.maximum(adjacency, adjacency.T)
    np.fill_diagonal(adjacency, 0.0)
    return adjacency
