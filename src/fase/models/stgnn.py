"""Spatiotemporal GNN (paper §2.3.1): a Graph WaveNet-style encoder.

    h₀ = Linear(F → C)(x)
    block ℓ (dilation d_ℓ):  g = Dropout(tanh(f) ⊙ σ(g')),  [f, g'] = CausalConv_{k, d_ℓ}(h_{ℓ−1})
                             h̃ = diffusion(g)             (paper: h̃[n] = Σ_m A[n, m]·g[m])
                             skip_ℓ = Linear(C → C)(h̃),  h_ℓ = Linear(C → C)(h̃) + h_{ℓ−1}
    embedding = Linear(C → D)(ReLU(Linear(C → C)(ReLU(Σ_ℓ skip_ℓ))))

The output at step t depends on x at steps t − R + 1 … t only, R = 1 + (k − 1)·Σ d_ℓ
(paper: 16). With the paper's settings (C = 64, D = 32, four blocks, F = 13) it has
106,464 parameters.

Computation (same function, less work): when F + 1 < C the first block's convolution
reads x through the input projection folded into its weights (see ``layers.tcn``), and
the last block's residual output, which feeds nothing, is not computed (its parameters
get no gradient, as before).
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import Tensor, nn

from fase.config.model import ModelConfig
from fase.models.layers.diffusion import AdaptiveAdjacency, GraphDiffusion, diffusion_supports
from fase.models.layers.dropout import Dropout
from fase.models.layers.tcn import GatedTemporalConv


class WaveNetBlock(nn.Module):
    """Gated dilated causal convolution → dropout → graph diffusion, and the block's two
    output maps ``skip`` and ``residual`` (Linear C → C), which :class:`STGNN` applies:
    skip = skip(h̃), h_next = residual(h̃) + h.

    Shapes: h (B, N, T, C), supports S × (N, N) → h̃ (B, N, T, C); with ``project`` (a
    Linear F → C) the convolution reads project(h), folded into it, h (B, N, T, F).
    """

    def __init__(
        self,
        channels: int,
        kernel_size: int,
        dilation: int,
        dropout: float,
        num_supports: int,
        hops: int,
    ) -> None:
        super().__init__()
        self.temporal = GatedTemporalConv(channels, kernel_size, dilation)
        self.dropout = Dropout(dropout)
        self.diffusion = GraphDiffusion(channels, num_supports, hops)
        self.skip = nn.Linear(channels, channels)
        self.residual = nn.Linear(channels, channels)

    def forward(
        self, h: Tensor, supports: list[Tensor], project: nn.Linear | None = None
    ) -> Tensor:
        return self.diffusion(self.dropout(self.temporal(h, project)), supports)


class STGNN(nn.Module):
    """The STGNN encoder.

    Args:
        num_features: F, input features per node and step.
        adjacency: (N, N) combined adjacency (row n aggregates from its columns).
        config: channels, blocks, dilations, dropout, diffusion options, embedding size.

    Shapes: x (B, N, T, F) → embedding (B, N, T, D).
    """

    def __init__(self, num_features: int, adjacency: Tensor, config: ModelConfig) -> None:
        super().__init__()
        if adjacency.ndim != 2 or adjacency.shape[0] != adjacency.shape[1]:
            raise ValueError(f"adjacency must be square (N, N), got {tuple(adjacency.shape)}")
        fixed = diffusion_supports(adjacency.to(torch.get_default_dtype()), config.diffusion)
        self.register_buffer("fixed_supports", torch.stack(fixed))
        self.adaptive = (
            AdaptiveAdjacency(adjacency.shape[0], config.node_embedding_dim)
            if config.adaptive_adjacency
            else None
        )
        num_supports = len(fixed) + int(config.adaptive_adjacency)
        channels = config.channels
        self.fold_input = num_features + 1 < channels  # folding saves work (module docstring)
        self.input_proj = nn.Linear(num_features, channels)
        self.blocks = nn.ModuleList(
            WaveNetBlock(
                channels,
                config.kernel_size,
                dilation,
                config.dropout,
                num_supports,
                config.diffusion_hops,
            )
            for dilation in config.dilations
        )
        self.output_proj = nn.Sequential(
            nn.ReLU(),
            nn.Linear(channels, channels),
            nn.ReLU(),
            nn.Linear(channels, config.embedding_dim),
        )

    def supports(self) -> list[Tensor]:
        """The supports used in every block: the fixed ones, then the adaptive one if any."""
        supports = list(self.fixed_supports.unbind(0))
        if self.adaptive is not None:
            supports.append(self.adaptive())
        return supports

    def forward(self, x: Tensor) -> Tensor:
        supports = self.supports()
        h = self.input_proj(x)
        first = self.blocks[0]
        diffused = first(x, supports, self.input_proj) if self.fold_input else first(h, supports)
        skips = first.skip(diffused)
        for previous, block in pairwise(self.blocks):  # the last residual output feeds nothing
            h = previous.residual(diffused) + h
            diffused = block(h, supports)
            skips = skips + block.skip(diffused)
        return self.output_proj(skips)
