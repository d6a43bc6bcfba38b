"""Graph diffusion over the area graph (dense N × N supports).

Node n aggregates along row n of a support S: (S·h)[n] = Σ_m S[n, m]·h[m].
The paper uses one support (A_combined as given) and one hop, with no weights.
Beyond the paper (Graph WaveNet): forward and backward supports, K hops and an
adaptive adjacency learned from node embeddings; several diffusion terms are then
mixed by a learned linear map.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn


def row_normalize(adjacency: Tensor) -> Tensor:
    """D⁻¹A: each row divided by its sum; all-zero rows stay zero. Shape (N, N)."""
    sums = adjacency.sum(dim=1, keepdim=True)
    return adjacency / torch.where(sums == 0, 1.0, sums)


def diffusion_supports(
    adjacency: Tensor, direction: Literal["forward", "bidirectional"]
) -> list[Tensor]:
    """Fixed supports: ``"forward"`` → [A] as given (paper); ``"bidirectional"`` →
    [D⁻¹A, D⁻¹Aᵀ], each row-normalised (Graph WaveNet's forward/backward transition)."""
    if direction == "forward":
        return [adjacency]
    if direction == "bidirectional":
        return [row_normalize(adjacency), row_normalize(adjacency.T)]
    raise ValueError(f"unknown diffusion direction {direction!r}")


def diffuse(h: Tensor, support: Tensor) -> Tensor:
    """One hop h̃[b, n, t] = Σ_m S[n, m]·h[b, m, t]. h (B, N, T, C), S (N, N) → (B, N, T, C).

    One matrix product S·h[b] per window on the (N, T·C) view of h.
    """
    batch, nodes, steps, channels = h.shape
    return torch.matmul(support, h.reshape(batch, nodes, steps * channels)).view(h.shape)


class AdaptiveAdjacency(nn.Module):
    """Graph WaveNet's learned support softmax(ReLU(E₁·E₂ᵀ)), softmax over each row.

    E₁, E₂ (N, d) are source and target node embeddings, initialised N(0, 1).
    Returns (N, N), rows non-negative and summing to 1.
    """

    def __init__(self, num_nodes: int, embedding_dim: int) -> None:
        super().__init__()
        self.source = nn.Parameter(torch.randn(num_nodes, embedding_dim))
        self.target = nn.Parameter(torch.randn(num_nodes, embedding_dim))

    def forward(self) -> Tensor:
        return torch.softmax(torch.relu(self.source @ self.target.T), dim=1)


class GraphDiffusion(nn.Module):
    """K-hop diffusion over S supports: terms S_s^k·h for s < S, 1 ≤ k ≤ K.

    With one term (the paper: one support, one hop) the output is that term, h̃ = A·h,
    with no parameters. With several, they are concatenated along channels and mixed
    by Linear(S·K·C → C).

    Shapes: h (B, N, T, C), supports S × (N, N) → (B, N, T, C).
    """

    def __init__(self, channels: int, num_supports: int, hops: int) -> None:
        super().__init__()
        self.hops = hops
        terms = num_supports * hops
        self.mix: nn.Module = nn.Linear(terms * channels, channels) if terms > 1 else nn.Identity()

    def forward(self, h: Tensor, supports: list[Tensor]) -> Tensor:
        terms = []
        for support in supports:
            hop = h
            for _ in range(self.hops):
                hop = diffuse(hop, support)
                terms.append(hop)
        return self.mix(terms[0] if len(terms) == 1 else torch.cat(terms, dim=-1))
