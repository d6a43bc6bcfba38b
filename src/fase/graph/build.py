"""Phase 2 orchestration: areas + demographics → :class:`Graph` (and its artefact).

The artefact ``graph.npz`` holds float64 (N, N) arrays ``A_geo``, ``A_geo_norm``,
``A_feat`` (raw cosine), ``A_feat_thresh``, ``A_combined``, the unicode array
``node_ids`` and the int64 ``islands``; it loads without pickle.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fase.config.method import GraphMethod
from fase.data.areas import Areas
from fase.errors import FaseInputError
from fase.graph.combine import combine_adjacency, row_normalize
from fase.graph.contiguity import geographic_adjacency
from fase.graph.similarity import feature_cosine, threshold_similarity
from fase.graph.stats import GraphStats, graph_stats
from fase.io import write_npz
from fase.rundir import load_arrays, require_keys

MATRICES = ("A_geo", "A_geo_norm", "A_feat", "A_feat_thresh", "A_combined")


@dataclass(frozen=True)
class Graph:
    """The hybrid graph over N nodes; every matrix is float64 (N, N), row i = node i."""

    node_ids: list[str]
    A_geo: np.ndarray  # binary symmetric Queen (or fuzzy) contiguity, islands joined
    A_geo_norm: np.ndarray  # D⁻¹ A_geo
    A_feat: np.ndarray  # raw cosine similarity
    A_feat_thresh: np.ndarray  # cosine ≥ θ, zero diagonal
    A_combined: np.ndarray  # α_geo·A_geo_norm + α_feat·A_feat_thresh (+ I), normalised
    stats: GraphStats
    islands: np.ndarray  # (I,) int64 indices of the nodes that had no contiguous neighbour

    def edge_index(self) -> tuple[np.ndarray, np.ndarray]:
        """Non-zeros of A_combined in row-major order: (2, E) int64 [row; col] and (E,) weights."""
        rows, cols = np.nonzero(self.A_combined)
        return np.stack([rows, cols]).astype(np.int64), self.A_combined[rows, cols]

    def save(self, path: str | Path) -> Path:
        """Write the artefact atomically (see the module notes)."""
        arrays = {name: getattr(self, name) for name in MATRICES}
        arrays["node_ids"] = np.array(self.node_ids, dtype=str)
        arrays["islands"] = self.islands.astype(np.int64)
        return write_npz(path, arrays)

    @classmethod
    def load(cls, path: str | Path) -> Graph:
        """Read an artefact written by :meth:`save`; the stats are recomputed."""
        hint = "build the run's graph again with `fase data`"
        arrays = load_arrays(Path(path), hint)
        require_keys(Path(path), arrays, (*MATRICES, "islands", "node_ids"), hint)
        matrices = {name: arrays[name].astype(np.float64) for name in MATRICES}
        islands = arrays["islands"].astype(np.int64)
        stats = graph_stats(
            matrices["A_geo"], matrices["A_feat_thresh"], matrices["A_combined"], islands.size
        )
        return cls(
            node_ids=[str(v) for v in arrays["node_ids"]], stats=stats, islands=islands, **matrices
        )


def graph_from_adjacency(node_ids: list[str], adjacency: np.ndarray) -> Graph:
    """The graph of published regions given only their (N, N) adjacency (a benchmark's):
    A_geo = the non-zero off-diagonal pattern, no feature edges, A_combined = D⁻¹(A_geo + I)."""
    a_geo = ((np.asarray(adjacency) != 0) & ~np.eye(len(node_ids), dtype=bool)).astype(np.float64)
    a_geo_norm = row_normalize(a_geo)
    no_features = np.zeros_like(a_geo)
    a_combined = combine_adjacency(a_geo_norm, no_features, 1.0, 0.0, True, "row")
    return Graph(
        node_ids=list(node_ids),
        A_geo=a_geo,
        A_geo_norm=a_geo_norm,
        A_feat=no_features,
        A_feat_thresh=no_features,
        A_combined=a_combined,
        stats=graph_stats(a_geo, no_features, a_combined, 0),
        islands=np.zeros(0, dtype=np.int64),
    )


def build_graph(
    areas: Areas, features: np.ndarray, valid: np.ndarray, method: GraphMethod
) -> Graph:
    """Build the hybrid graph of ``areas`` (N nodes).

    Args:
        areas: the nodes, in order.
        features: (N, d) static demographics per node (e.g. minority share, income,
            poverty rate); rows of invalid nodes are ignored.
        valid: (N,) bool, False where a node's demographics are missing (no feature edges).
        method: contiguity rule, island k, θ, α weights, self-loops, standardisation,
            final normalisation.
    """
    if not 0.0 < method.theta <= 1.0:
        raise FaseInputError("graph.theta", f"theta must lie in (0, 1], got {method.theta}")
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] != areas.n:
        raise ValueError(f"features must be ({areas.n}, d), got {features.shape}")
    a_geo, islands = geographic_adjacency(
        areas, method.contiguity, method.fuzzy_tolerance_m, method.island_k
    )
    a_geo_norm = row_normalize(a_geo)
    a_feat = feature_cosine(features, valid, method.standardize_features)
    a_feat_thresh = threshold_similarity(a_feat, method.theta)
    a_combined = combine_adjacency(
        a_geo_norm,
        a_feat_thresh,
        method.alpha_geo,
        method.alpha_feat,
        method.self_loops,
        method.normalize,
    )
    return Graph(
        node_ids=areas.ids,
        A_geo=a_geo,
        A_geo_norm=a_geo_norm,
        A_feat=a_feat,
        A_feat_thresh=a_feat_thresh,
        A_combined=a_combined,
        stats=graph_stats(a_geo, a_feat_thresh, a_combined, islands.size),
        islands=islands,
    )
