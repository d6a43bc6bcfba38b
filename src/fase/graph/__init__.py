"""Phase 2: the hybrid graph A = α_geo·A_geo_norm + α_feat·A_feat_thresh + I.

Modules: ``contiguity`` (Queen / fuzzy A_geo, islands), ``similarity`` (cosine
A_feat and its threshold), ``combine`` (normalisation and Eq. 1), ``stats`` (the
paper's graph numbers) and ``build`` (orchestration and the ``graph.npz`` artefact).
"""

from fase.graph.build import Graph, build_graph
from fase.graph.stats import GraphStats, graph_stats

__all__ = ["Graph", "GraphStats", "build_graph", "graph_stats"]
