"""The model-zoo study's hybrid: a dilated causal TCN per area, then a graph attention layer.

    u[n, t] = [x[n, t], log(1 + y[n, t − 1])]                                (F + 1)
    h⁰ = Linear(F + 1 → C)(u)
    hᵏ = hᵏ⁻¹ + GatedConv_{2, d_k}(hᵏ⁻¹),   d = (1, 2, 4, 8)         (time, per area, causal)
    g[·, t] = GATConv(h^K[·, t]; A_geo + I)                          (space, per bin t)
    (μ, θ) = CountHead(h^K + g),   Y[n, t] ~ NB(μ, θ)

GatedConv is the WaveNet unit tanh(f) ⊙ σ(g') of :mod:`fase.models.layers.tcn` with
kernel 2: h^K at bin t depends on u at bins t − 15 … t, so its receptive field is
R = 1 + Σ d_k = 16 bins (the first convolution reads u through the input projection folded
into its weights, the same function at less cost). GATConv (PyTorch Geometric; Veličković
et al. 2018) is

    g_i = ‖_heads Σ_{j ∈ N(i) ∪ {i}} α_ij Θ h_j,
    α_ij = softmax_j LeakyReLU(a_srcᵀ Θ h_j + a_dstᵀ Θ h_i),

over the contiguity graph A_geo with self-loops: attention learns its own weights, so the
adjacency's weights are not needed, only who borders whom (A_combined, with the feature
similarity edges, links most pairs of areas in Chicago: 4,221 of 5,929). At bin t a node
reads its neighbours' h^K at t, i.e. their features up to t and counts up to t − 1, so the
forecast stays one step ahead. The B·W graphs of a minibatch are one disjoint graph.

The study trains on squared error; this head predicts a distribution and is trained on its
negative log-likelihood (negative binomial NB(μ, θ), variance μ + μ²/θ).

Parameters (F features, C channels, K blocks): (F + 1)·C + C + K·(4C² + 2C)
+ (C² + 3C) + (C² + C + 2C + 2); 75,586 for F = 13, C = 64, K = 4.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn
from torch_geometric.nn import GATConv

from fase.models.distributions import CountDistribution, count_distribution
from fase.models.fase import CountHead
from fase.models.layers.tcn import GatedTemporalConv

DISTRIBUTION = "nb"


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
    """TCN over time per area, GAT over the areas per bin, NB count head (module docstring).

    Args:
        num_features: F.
        edge_index: (2, E) edges j → i including self-loops (see :func:`attention_edges`).
        num_nodes: N.
        channels: C (divisible by ``heads``).
        heads: attention heads, each C / heads wide, concatenated.
        dilations: one gated causal convolution (kernel 2) per dilation.

    Shapes: x (B, N, W, F), y_hist (B, N, 1 + W) counts → {"mu", "theta"} each (B, N, W).
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
    ) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"channels ({channels}) must be divisible by heads ({heads})")
        if edge_index.ndim != 2 or edge_index.shape[0] != 2:
            raise ValueError(f"edge_index must have shape (2, E), got {tuple(edge_index.shape)}")
        if edge_index.numel() and int(edge_index.max()) >= num_nodes:
            raise ValueError(f"edge_index names a node ≥ num_nodes = {num_nodes}")
        self.num_nodes = num_nodes
        self.register_buffer("edge_index", edge_index.to(torch.int64), persistent=False)
        self.receptive_field = 1 + sum(dilations)
        self.input_proj = nn.Linear(num_features + 1, channels)
        self.temporal = nn.ModuleList(GatedTemporalConv(channels, 2, d) for d in dilations)
        self.spatial = GATConv(channels, channels // heads, heads=heads, add_self_loops=False)
        self.head = CountHead(channels, channels, ("mu", "theta"))

    def encode_time(self, x: Tensor, y_hist: Tensor) -> Tensor:
        """h^K (B, N, W, C): the residual gated causal convolutions over u."""
        steps = x.shape[2]
        if y_hist.shape != (*x.shape[:2], 1 + steps):
            raise ValueError(
                f"y_hist must have shape ({x.shape[0]}, {x.shape[1]}, 1 + {steps}), "
                f"got {tuple(y_hist.shape)}"
            )
        previous = torch.log1p(y_hist[..., :steps].to(x.dtype)).unsqueeze(-1)
        u = torch.cat([x, previous], dim=-1)
        first, *rest = self.temporal
        h = self.input_proj(u) + first(u, self.input_proj)  # projection folded into the conv
        for block in rest:
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
        h = self.encode_time(x, y_hist)
        return self.head(h + self.attend(h))

    def distribution(self, params: dict[str, Tensor]) -> CountDistribution:
        """NB(μ, θ)."""
        return count_distribution(DISTRIBUTION, params)
