"""Graph diffusion: supports, hops, adaptive adjacency, against hand computation."""

from __future__ import annotations

import pytest
import torch

from fase.models.layers.diffusion import (
    AdaptiveAdjacency,
    GraphDiffusion,
    diffuse,
    diffusion_supports,
    row_normalize,
)

GEN = torch.Generator().manual_seed(0)
A = torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0], [0.0, 0.0, 0.0]])


def test_diffuse_aggregates_along_rows() -> None:
    h = torch.randn(2, 3, 4, 5, generator=GEN)
    out = diffuse(h, A)
    assert torch.allclose(out[:, 0], h[:, 0] + 2 * h[:, 1])
    assert torch.allclose(out[:, 1], h[:, 1] + 3 * h[:, 2])
    assert torch.equal(out[:, 2], torch.zeros_like(out[:, 2]))


def test_row_normalize_and_supports() -> None:
    expected = torch.tensor([[1 / 3, 2 / 3, 0.0], [0.0, 0.25, 0.75], [0.0, 0.0, 0.0]])
    assert torch.allclose(row_normalize(A), expected)
    (forward,) = diffusion_supports(A, "forward")
    assert torch.equal(forward, A)  # the paper: A as given, no normalisation
    fwd, bwd = diffusion_supports(A, "bidirectional")
    assert torch.allclose(fwd, expected)
    # Aᵀ rows: [1, 0, 0], [2, 1, 0], [0, 3, 0]
    assert torch.allclose(bwd, torch.tensor([[1.0, 0, 0], [2 / 3, 1 / 3, 0], [0, 1.0, 0]]))
    with pytest.raises(ValueError, match="direction"):
        diffusion_supports(A, "sideways")  # type: ignore[arg-type]


def test_one_term_is_a_times_h_without_parameters() -> None:
    layer = GraphDiffusion(channels=5, num_supports=1, hops=1)
    assert sum(p.numel() for p in layer.parameters()) == 0
    h = torch.randn(2, 3, 4, 5, generator=GEN)
    assert torch.equal(layer(h, [A]), diffuse(h, A))


def test_hops_and_supports_are_mixed_by_a_linear_map() -> None:
    layer = GraphDiffusion(channels=2, num_supports=2, hops=2)
    assert sum(p.numel() for p in layer.parameters()) == 4 * 2 * 2 + 2
    identity = torch.eye(2)
    with torch.no_grad():  # output = (A²h from support 0) + (Bh from support 1)
        layer.mix.weight.copy_(torch.cat([0 * identity, identity, identity, 0 * identity], dim=1))
        layer.mix.bias.zero_()
    b = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    h = torch.randn(1, 3, 4, 2, generator=GEN)
    expected = torch.einsum("nm,bmtc->bntc", A @ A, h) + torch.einsum("nm,bmtc->bntc", b, h)
    assert torch.allclose(layer(h, [A, b]), expected, atol=1e-6)


def test_adaptive_adjacency_is_a_row_softmax_of_relu_scores() -> None:
    torch.manual_seed(0)
    adaptive = AdaptiveAdjacency(num_nodes=4, embedding_dim=3)
    support = adaptive()
    scores = torch.relu(adaptive.source @ adaptive.target.T)
    expected = torch.exp(scores) / torch.exp(scores).sum(1, keepdim=True)
    assert torch.allclose(support, expected)
    assert torch.allclose(support.sum(1), torch.ones(4)) and bool((support > 0).all())
    support[0, 1].backward()
    assert adaptive.source.grad is not None and adaptive.source.grad.abs().sum() > 0
