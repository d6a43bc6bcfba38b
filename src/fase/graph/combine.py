"""The hybrid adjacency (paper Eq. 1):

    A = α_geo · A_geo_norm + α_feat · A_feat_thresh (+ I)

``A_geo_norm = D⁻¹ A_geo`` is row-normalised. With self-loops the diagonal is SET
to 1 after the sum (both terms have a zero diagonal, so this equals "+ I").
``normalize="row"`` row-normalises the result (our default, row sums 1);
``"none"`` keeps the paper's matrix, whose row sums reach ~9.
"""

from __future__ import annotations

from typing import Literal

import numpy as np


def row_normalize(adjacency: np.ndarray) -> np.ndarray:
    """D⁻¹A for an (N, N) matrix; rows summing to zero stay zero."""
    sums = adjacency.sum(axis=1, keepdims=True)
    return np.divide(
        adjacency, sums, out=np.zeros_like(adjacency, dtype=np.float64), where=sums != 0
    )


def combine_adjacency(
    geo_norm: np.ndarray,
    feat_thresh: np.ndarray,
    alpha_geo: float,
    alpha_feat: float,
    self_loops: bool = True,
    normalize: Literal["row", "none"] = "row",
) -> np.ndarray:
    """A_combined (N, N) from the row-normalised A_geo and the thresholded A_feat."""
    combined = alpha_geo * geo_norm + alpha_feat * feat_thresh
    if self_loops:
        np.fill_diagonal(combined, 1.0)
    if normalize == "row":
        combined = row_normalize(combined)
    return combined
