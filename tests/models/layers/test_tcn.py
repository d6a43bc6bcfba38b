"""Dilated causal convolution and the gated block, against the formula written out."""

from __future__ import annotations

import torch

from fase.models.layers.tcn import CausalConv1d, GatedTemporalConv

GEN = torch.Generator().manual_seed(0)


def test_causal_conv_is_w0_x_t_minus_d_plus_w1_x_t() -> None:
    conv = CausalConv1d(1, 1, kernel_size=2, dilation=3)
    with torch.no_grad():
        conv.conv.weight.copy_(torch.tensor([[[2.0, -1.0]]]))
        conv.conv.bias.fill_(0.5)
    x = torch.arange(1.0, 9.0).view(1, 1, 8)  # 1..8
    expected = [
        0.5 - x_t + (2 * x[0, 0, t - 3] if t >= 3 else 0.0) for t, x_t in enumerate(x[0, 0])
    ]
    assert torch.allclose(conv(x)[0, 0], torch.tensor(expected))


def test_causal_conv_with_three_taps() -> None:
    conv = CausalConv1d(1, 1, kernel_size=3, dilation=2)
    with torch.no_grad():
        conv.conv.weight.copy_(torch.tensor([[[100.0, 10.0, 1.0]]]))
        conv.conv.bias.zero_()
    x = torch.zeros(1, 1, 7)
    x[0, 0, 1] = 1.0
    # out[t] = 100·x[t−4] + 10·x[t−2] + x[t]
    assert conv(x)[0, 0].tolist() == [0.0, 1.0, 0.0, 10.0, 0.0, 100.0, 0.0]


def test_gated_block_is_tanh_f_times_sigmoid_g_per_node() -> None:
    torch.manual_seed(0)
    block = GatedTemporalConv(channels=3, kernel_size=2, dilation=2)
    h = torch.randn(2, 4, 6, 3, generator=GEN)
    out = block(h)
    assert out.shape == (2, 4, 6, 3)
    node = h[1, 2].T.unsqueeze(0)  # (1, C, T) for one node
    raw = block.conv(node)[0]
    expected = torch.tanh(raw[:3]) * torch.sigmoid(raw[3:])
    assert torch.allclose(out[1, 2], expected.T, atol=1e-6)


def test_gated_block_is_causal() -> None:
    torch.manual_seed(1)
    block = GatedTemporalConv(channels=4, kernel_size=2, dilation=4)
    h = torch.randn(1, 2, 12, 4, generator=GEN)
    changed = h.clone()
    changed[:, :, 7] += 1.0
    before, after = block(h), block(changed)
    assert torch.equal(before[:, :, :7], after[:, :, :7])
    assert not torch.allclose(before[:, :, 7], after[:, :, 7])
    assert not torch.allclose(before[:, :, 11], after[:, :, 11])  # t − d = 7
