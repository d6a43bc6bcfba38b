"""Demographic similarity A_feat: cosine of per-node feature vectors, thresholded.

For feature vectors f_i (rows of F, shape (N, d)):

    A_feat[i, j] = f̂_i · f̂_j,   f̂_i = f_i / max(‖f_i‖, 1e-8)

so a zero vector has cosine 0 with every node (including itself), as in the paper.
With ``standardize`` each column is first z-scored over the valid nodes,
(F − mean) / std (population std; a constant column becomes 0). Nodes whose
demographics are missing (``valid`` False) get the zero vector, hence no edges.

The thresholded matrix keeps the cosine values where A_feat ≥ θ (inclusive, with a
1e-12 tolerance so that cosines equal to θ in exact arithmetic pass) and sets the
diagonal to 0.
"""

from __future__ import annotations

import numpy as np

NORM_FLOOR = 1e-8
THRESHOLD_ATOL = 1e-12


def feature_cosine(features: np.ndarray, valid: np.ndarray, standardize: bool) -> np.ndarray:
    """Raw cosine matrix (N, N) of ``features`` (N, d); invalid rows are zero vectors."""
    features = np.asarray(features, dtype=np.float64)
    valid = np.asarray(valid, dtype=bool)
    if features.ndim != 2 or valid.shape != (features.shape[0],):
        raise ValueError(
            f"need features (N, d) and valid (N,), got {features.shape}, {valid.shape}"
        )
    if not np.isfinite(features[valid]).all():
        raise ValueError("features of valid nodes must be finite")
    vectors = np.zeros_like(features)
    vectors[valid] = features[valid]
    if standardize and valid.any():
        mean = vectors[valid].mean(axis=0)
        std = vectors[valid].std(axis=0)
        std[std == 0] = 1.0
        vectors[valid] = (vectors[valid] - mean) / std
    norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), NORM_FLOOR)
    unit = vectors / norms
    return np.clip(unit @ unit.T, -1.0, 1.0)


def threshold_similarity(cosine: np.ndarray, theta: float) -> np.ndarray:
    """A_feat_thresh (N, N): cosine where cosine ≥ θ, else 0; zero diagonal."""
    kept = np.where(cosine >= theta - THRESHOLD_ATOL, cosine, 0.0)
    np.fill_diagonal(kept, 0.0)
    return kept
