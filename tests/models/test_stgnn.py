"""STGNN encoder: parameter count, receptive field, graph coupling and the options."""

from __future__ import annotations

import pytest
import torch

from fase.config.model import ModelConfig
from fase.models.stgnn import STGNN

GEN = torch.Generator().manual_seed(0)


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_paper_encoder_has_106464_parameters(graph, paper_config) -> None:
    adjacency, _ = graph
    encoder = STGNN(13, adjacency, paper_config)
    assert count(encoder) == 106_464
    # input 896 + 4 × (conv 16,512 + skip 4,160 + residual 4,160) + output 4,160 + 2,080
    assert count(encoder.input_proj) == 896
    assert [count(block) for block in encoder.blocks] == [24_832] * 4
    assert count(encoder.output_proj) == 6_240
    assert encoder(torch.randn(2, 25, 20, 13, generator=GEN)).shape == (2, 25, 20, 32)


def test_receptive_field_is_sixteen_causal_steps(graph, paper_config) -> None:
    adjacency, _ = graph
    encoder = STGNN(13, adjacency, paper_config).eval()
    x = torch.randn(1, 25, 48, 13, generator=GEN)
    changed = x.clone()
    changed[:, :, 20] += 1.0
    with torch.no_grad():
        delta = (encoder(changed) - encoder(x)).abs().amax(dim=(0, 1, 3))
    assert bool((delta[:20] == 0).all())  # causal
    assert bool((delta[20:36] > 0).all())  # steps 20 … 20 + 15 see the change
    assert bool((delta[36:] == 0).all())  # receptive field 1 + (1 + 2 + 4 + 8) = 16


def test_diffusion_couples_nodes_along_adjacency_rows(paper_config) -> None:
    # Node 1 aggregates from node 0 (A[1, 0] > 0); node 2 is isolated.
    adjacency = torch.tensor([[1.0, 0.0, 0.0], [0.7, 1.0, 0.0], [0.0, 0.0, 1.0]])
    encoder = STGNN(4, adjacency, paper_config).eval()
    x = torch.randn(1, 3, 8, 4, generator=GEN)
    changed = x.clone()
    changed[:, 0] += 1.0
    with torch.no_grad():
        delta = (encoder(changed) - encoder(x)).abs().amax(dim=(0, 2, 3))
    assert delta[0] > 0 and delta[1] > 0 and delta[2] == 0


def test_options_beyond_the_paper(graph) -> None:
    adjacency, _ = graph
    config = ModelConfig(
        adaptive_adjacency=True, node_embedding_dim=10, diffusion="bidirectional", diffusion_hops=2
    )
    encoder = STGNN(13, adjacency, config)
    supports = encoder.supports()
    assert len(supports) == 3  # forward, backward, adaptive
    for support in supports:
        assert torch.allclose(support.sum(1), torch.ones(25))  # all three row-stochastic
    assert torch.allclose(supports[1], adjacency.T / adjacency.T.sum(1, keepdim=True))
    # + node embeddings 2·25·10, + per block a mixing Linear(3·2·64 → 64)
    assert count(encoder) == 106_464 + 2 * 25 * 10 + 4 * (6 * 64 * 64 + 64)
    out = encoder(torch.randn(2, 25, 12, 13, generator=GEN))
    out.square().mean().backward()
    assert encoder.adaptive is not None and encoder.adaptive.source.grad is not None
    assert encoder.adaptive.source.grad.abs().sum() > 0


def plain_forward(encoder: STGNN, x: torch.Tensor) -> torch.Tensor:
    """The module docstring's formulas, step by step (eval mode: no dropout)."""
    adjacency = encoder.fixed_supports[0]
    h = encoder.input_proj(x)
    skips = torch.zeros_like(h)
    for block in encoder.blocks:
        lag = block.temporal.conv.lags[0]  # k = 2: taps h[t − d] and h[t]
        shifted = torch.cat([torch.zeros_like(h[..., :lag, :]), h[..., :-lag, :]], dim=-2)
        f, g = block.temporal.conv.linear(torch.cat([shifted, h], dim=-1)).chunk(2, dim=-1)
        diffused = torch.einsum("nm,bmtc->bntc", adjacency, torch.tanh(f) * torch.sigmoid(g))
        skips = skips + block.skip(diffused)
        h = block.residual(diffused) + h
    return encoder.output_proj(skips)


@pytest.mark.parametrize(("channels", "folded"), [(64, True), (8, False)])
def test_forward_equals_the_plain_formulas(graph, paper_config, channels, folded) -> None:
    adjacency, _ = graph
    config = paper_config.model_copy(update={"channels": channels})
    encoder = STGNN(13, adjacency, config).double().eval()
    assert encoder.fold_input == folded  # F + 1 < C: input projection folded into block 1
    x = torch.randn(2, 25, 20, 13, generator=GEN, dtype=torch.float64)
    torch.testing.assert_close(encoder(x), plain_forward(encoder, x), rtol=1e-11, atol=1e-12)


def test_gradients_reach_every_parameter_but_the_unused_last_residual(graph, paper_config):
    adjacency, _ = graph
    encoder = STGNN(13, adjacency, paper_config)
    encoder(torch.randn(1, 25, 16, 13, generator=GEN)).square().mean().backward()
    unused = {"blocks.3.residual.weight", "blocks.3.residual.bias"}  # h₄ feeds nothing
    for name, parameter in encoder.named_parameters():
        assert (parameter.grad is None) == (name in unused), name
