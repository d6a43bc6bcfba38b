"""The model-zoo study's hybrid, ŷ = f_TCN(f_GAT(X)): a graph attention layer over the
areas at every bin, then a dilated causal TCN over time per area.

    u[n, t] = [x[n, t], log(1 + y[n, t − 1])]                                (F + 1)
    h⁰ = Linear(F + 1 → C)(u)
    g[·, t] = h⁰[·, t] + GATConv(h⁰[·, t]; A_geo + I)                 (space, per bin t)
    hᵏ = hᵏ⁻¹ + GatedConv_{2, d_k}(hᵏ⁻¹),  h⁰ := g,  d = (1, 2, 4, 8)  (time, per area, causal)
    parameters = CountHead(h^K)

GATConv (PyTorch Geometric; Veličković et al. 2018) is

    g_i = ‖_heads Σ_{j ∈ N(i) ∪ {i}} α_ij Θ h_j,
    α_ij = softmax_j LeakyReLU(a_srcᵀ Θ h_j + a_dstᵀ Θ h_i),

over the contiguity graph A_geo with self-loops: attention learns its own weights, so the
adjacency's weights are not needed, only who borders whom (A_combined, with the feature
similarity edges, links most pairs of areas in Chicago: 4,221 of 5,929). The B·W graphs
of a minibatch are one disjoint graph. GatedConv is the WaveNet unit tanh(f) ⊙ σ(g') of
:mod:`fase.models.layers.tcn` with kernel 2: h^K at bin t depends on g at bins
t − 15 … t, so the receptive field is R = 1 + Σ d_k = 16 bins. At bin t an area reads its
neighbours' features up to t and counts up to t − 1, so the forecast stays one step
ahead.

The head (:class:`~fase.models.heads.CountHead`) gives the parameters of
``distribution``: ``poisson`` (the study: the expected count, trained on its squared
error and scored with a Poisson likelihood around it), ``nb`` (NB(μ, θ) trained on its
likelihood, a second variant) or ``levels`` (the five risk-level logits, trained with
cross-entropy); with K outputs, one per crime type.

Parameters (F features, C channels, K blocks, P head parameters per output, O outputs):
(F + 1)·C + C + (C² + 3C) + K·(4C² + 2C) + (C² + C) + (C + 1)·P·O;
75,586 for F = 13, C = 64, K = 4 and NB (P = 2, O = 1); 75,521 with the study's mean (P = 1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn
from torch_geometric.nn import GATConv

from fase.models.distributions import (
    DISTRIBUTIONS,
    CountDistribution,
    LevelCategorical,
    count_distribution,
)
from fase.models.heads import N_LEVELS, CountHead
from fase.models.layers.tcn import GatedTemporalConv

HEAD_DISTRIBUTIONS = ("poisson", "nb", "levels")


def attention_edges(adjacency: np.ndarray) -> Tensor:
    """Edges of ``adjacency`` + I as a PyG ``edge_index`` (2, E) int64, [source; target].

    Node i attends to j where adjacency[i, j] ≠ 0 or i = j: the edge j → i, so row 0 holds
    the column index j and row 1 the row index i.
    """
    adjacency = np.asarray(adjacency)
    if adjacency.ndim != 2 or adjacency.shape[0] != adjacency.shape[1]:
        raise ValueError(f"adjacency must be square (N, N), got {adjacency.shape}")
    targets, sources = np.nonzero((adjacency != 0) | np.eye(adjacency.shape[0], dtype=bool))
    return torch.as_tensor(np.stack([sources, targets]), dtype=torch.int64)


def disjoint_union(edge_index: Tensor, num_nodes: int, copies: int) -> Tensor:
    """``copies`` disjoint copies of one graph: copy g's nodes are g·N … g·N + N − 1.

    Shapes: edge_index (2, E) → (2, copies·E), copy by copy.
    """
    offsets = torch.arange(copies, device=edge_index.device) * num_nodes
    return (edge_index.unsqueeze(1) + offsets.view(1, -1, 1)).flatten(1)


class GATTCN(nn.Module):
    """GAT over the areas per bin, then a TCN over time per area (module docstring).

    Args:
        num_features: F.
        edge_index: (2, E) edges j → i including self-loops (see :func:`attention_edges`).
        num_nodes: N.
        channels: C (divisible by ``heads``).
        heads: attention heads, each C / heads wide, concatenated.
        dilations: one gated causal convolution (kernel 2) per dilation.
        distribution: ``poisson``, ``nb`` or ``levels`` (module docstring).
        outputs: K count channels (crime types; 1: the total); ``levels``: 1.
        level_thresholds: the four count thresholds of the risk levels (``levels`` only).

    Shapes: x (B, N, W, F), y_hist (B, N, 1 + W) counts → the distribution's parameters,
    each (B, N, W) or (B, N, W, K); ``logits`` (B, N, W, 5).
    """

    history_steps = 1  # y_hist[..., t] is the count of the bin before window position t

    def __init__(
        self,
        num_features: int,
        edge_index: Tensor,
        num_nodes: int,
        channels: int = 64,
        heads: int = 4,
        dilations: Sequence[int] = (1, 2, 4, 8),
        *,
        distribution: str = "poisson",
        outputs: int = 1,
        level_thresholds: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        if distribution not in HEAD_DISTRIBUTIONS:
            raise ValueError(
                f"distribution must be one of {HEAD_DISTRIBUTIONS}, got {distribution!r}"
            )
        if (distribution == "levels") != (level_thresholds is not None):
            raise ValueError("the levels head needs level_thresholds, and only it")
        if channels % heads:
            raise ValueError(f"channels ({channels}) must be divisible by heads ({heads})")
        if edge_index.ndim != 2 or edge_index.shape[0] != 2:
            raise ValueError(f"edge_index must have shape (2, E), got {tuple(edge_index.shape)}")
        if edge_index.numel() and int(edge_index.max()) >= num_nodes:
            raise ValueError(f"edge_index names a node ≥ num_nodes = {num_nodes}")
        self.num_nodes = num_nodes
        self.register_buffer("edge_index", edge_index.to(torch.int64), persistent=False)
        self.receptive_field = 1 + sum(dilations)
        self.distribution_name = distribution
        self.input_proj = nn.Linear(num_features + 1, channels)
        self.spatial = GATConv(channels, channels // heads, heads=heads, add_self_loops=False)
        self.temporal = nn.ModuleList(GatedTemporalConv(channels, 2, d) for d in dilations)
        if distribution == "levels":
            names, width = ("logits",), N_LEVELS
            self.register_buffer(
                "level_thresholds", torch.as_tensor(list(level_thresholds), dtype=torch.float32)
            )
        else:
            names, width = DISTRIBUTIONS[distribution].parameter_names, outputs
        self.head = CountHead(channels, channels, names, width)

    def inputs(self, x: Tensor, y_hist: Tensor) -> Tensor:
        """h⁰ (B, N, W, C): the projection of u = [x, log(1 + previous count)]."""
        steps = x.shape[2]
        if y_hist.shape != (*x.shape[:2], 1 + steps):
            raise ValueError(
                f"y_hist must have shape ({x.shape[0]}, {x.shape[1]}, 1 + {steps}), "
                f"got {tuple(y_hist.shape)}"
            )
        previous = torch.log1p(y_hist[..., :steps].to(x.dtype)).unsqueeze(-1)
        return self.input_proj(torch.cat([x, previous], dim=-1))

    def encode_time(self, h: Tensor) -> Tensor:
        """h^K (B, N, W, C): the residual gated causal convolutions over g."""
        for block in self.temporal:
            h = h + block(h)
        return h

    def attend(self, h: Tensor) -> Tensor:
        """g (B, N, W, C): GATConv on each of the B·W graphs, as one disjoint graph."""
        batch, nodes, steps, channels = h.shape
        if nodes != self.num_nodes:
            raise ValueError(f"the graph has {self.num_nodes} nodes, the input {nodes}")
        flat = h.transpose(1, 2).reshape(batch * steps * nodes, channels)
        edges = disjoint_union(self.edge_index, nodes, batch * steps)
        out = self.spatial(flat, edges)
        return out.view(batch, steps, nodes, -1).transpose(1, 2)

    def forward(self, x: Tensor, y_hist: Tensor) -> dict[str, Tensor]:
        h = self.inputs(x, y_hist)
        return self.head(self.encode_time(h + self.attend(h)))

    def distribution(self, params: dict[str, Tensor]) -> CountDistribution:
        """The head's law: Poisson(μ), NB(μ, θ) or the categorical law of the levels."""
        if self.distribution_name == "levels":
            return LevelCategorical(params["logits"], self.level_thresholds)
        return count_distribution(self.distribution_name, params)
