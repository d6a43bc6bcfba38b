"""Summary numbers of the hybrid graph, as reported in the paper (§3.2).

Edges are directed: an undirected Queen pair counts twice. For the paper's
Baltimore graph: A_geo 108 edges (mean degree 4.32), A_feat 484 edges (mean degree
19.36), A_combined 513 non-zeros with weights in [0.0857, 1.0].
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class GraphStats:
    """Counts and ranges of one graph.

    ``geo_edges`` = Σ A_geo; ``feat_edges`` = #(A_feat_thresh > 0); mean degrees are
    these divided by N. ``combined_nnz`` counts non-zeros of A_combined including the
    diagonal. Weight ranges are over non-zero entries ([min, max]; NaN when empty);
    ``density`` = combined_nnz / N².
    """

    nodes: int
    geo_edges: int
    geo_mean_degree: float
    islands: int
    feat_edges: int
    feat_mean_degree: float
    combined_nnz: int
    offdiag_weight_min: float
    offdiag_weight_max: float
    weight_min: float
    weight_max: float
    row_sum_min: float
    row_sum_max: float
    density: float

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return dataclasses.asdict(self)

    def to_markdown(self) -> str:
        """Two-column Markdown table."""
        rows = [
            ("Nodes", f"{self.nodes}"),
            ("A_geo directed edges", f"{self.geo_edges}"),
            ("A_geo mean degree", f"{self.geo_mean_degree:.2f}"),
            ("Islands joined by KNN", f"{self.islands}"),
            ("A_feat directed edges", f"{self.feat_edges}"),
            ("A_feat mean degree", f"{self.feat_mean_degree:.2f}"),
            ("A_combined non-zeros", f"{self.combined_nnz}"),
            ("Off-diagonal weights", _range(self.offdiag_weight_min, self.offdiag_weight_max)),
            ("All weights", _range(self.weight_min, self.weight_max)),
            ("Row sums", _range(self.row_sum_min, self.row_sum_max)),
            ("Density (nnz / N²)", f"{self.density:.4f}"),
        ]
        lines = ["| Statistic | Value |", "|---|---|"]
        lines += [f"| {name} | {value} |" for name, value in rows]
        return "\n".join(lines) + "\n"


def graph_stats(
    a_geo: np.ndarray, a_feat_thresh: np.ndarray, a_combined: np.ndarray, islands: int
) -> GraphStats:
    """Statistics of the (N, N) matrices of one graph; ``islands`` = nodes joined by KNN."""
    n = a_geo.shape[0]
    geo_edges = int(a_geo.sum())
    feat_edges = int((a_feat_thresh > 0).sum())
    nonzero = a_combined[a_combined != 0]
    off = a_combined[~np.eye(n, dtype=bool)]
    off = off[off != 0]
    row_sums = a_combined.sum(axis=1)
    return GraphStats(
        nodes=n,
        geo_edges=geo_edges,
        geo_mean_degree=geo_edges / n,
        islands=int(islands),
        feat_edges=feat_edges,
        feat_mean_degree=feat_edges / n,
        combined_nnz=int(nonzero.size),
        offdiag_weight_min=_min(off),
        offdiag_weight_max=_max(off),
        weight_min=_min(nonzero),
        weight_max=_max(nonzero),
        row_sum_min=float(row_sums.min()),
        row_sum_max=float(row_sums.max()),
        density=nonzero.size / n**2,
    )


def _min(values: np.ndarray) -> float:
    return float(values.min()) if values.size else float("nan")


def _max(values: np.ndarray) -> float:
    return float(values.max()) if values.size else float("nan")


def _range(low: float, high: float) -> str:
    return f"[{low:.4f}, {high:.4f}]"
