"""Dilated causal convolution and the gated block, against the formula and nn.Conv1d."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from fase.models.layers.tcn import CausalConv, GatedTemporalConv, shift_in_time

GEN = torch.Generator().manual_seed(0)


def test_shift_in_time() -> None:
    x = torch.arange(1.0, 5.0).view(1, 4, 1)
    assert shift_in_time(x, 0).flatten().tolist() == [1.0, 2.0, 3.0, 4.0]
    assert shift_in_time(x, 1).flatten().tolist() == [0.0, 1.0, 2.0, 3.0]
    assert shift_in_time(x, 9).flatten().tolist() == [0.0] * 4


def test_causal_conv_is_w0_x_t_minus_d_plus_w1_x_t() -> None:
    conv = CausalConv(1, 1, kernel_size=2, dilation=3)
    with torch.no_grad():
        conv.linear.weight.copy_(torch.tensor([[2.0, -1.0]]))  # [W₀, W₁]
        conv.linear.bias.fill_(0.5)
    x = torch.arange(1.0, 9.0)  # 1..8
    expected = [0.5 - x[t] + (2 * x[t - 3] if t >= 3 else 0.0) for t in range(8)]
    assert torch.allclose(conv(x.view(1, 8, 1)).flatten(), torch.tensor(expected))


@pytest.mark.parametrize(("kernel_size", "dilation"), [(2, 1), (2, 8), (3, 2), (1, 1)])
def test_causal_conv_equals_left_padded_conv1d(kernel_size: int, dilation: int) -> None:
    conv = CausalConv(4, 6, kernel_size, dilation)
    reference = torch.nn.Conv1d(4, 6, kernel_size, dilation=dilation)
    assert sum(p.numel() for p in conv.parameters()) == sum(
        p.numel() for p in reference.parameters()
    )
    with torch.no_grad():  # Conv1d weight (C_out, C_in, k): tap j is linear block j
        reference.weight.copy_(conv.linear.weight.view(6, kernel_size, 4).permute(0, 2, 1))
        reference.bias.copy_(conv.linear.bias)
    x = torch.randn(3, 20, 4, generator=GEN)  # (batch, T, C)
    padded = F.pad(x.transpose(1, 2), ((kernel_size - 1) * dilation, 0))
    expected = reference(padded).transpose(1, 2)
    assert torch.allclose(conv(x), expected, atol=1e-6)


def test_gated_block_is_tanh_f_times_sigmoid_g_per_node() -> None:
    block = GatedTemporalConv(channels=3, kernel_size=2, dilation=2)
    h = torch.randn(2, 4, 6, 3, generator=GEN)
    out = block(h)
    assert out.shape == (2, 4, 6, 3)
    raw = block.conv(h[1, 2])  # one node's series (T, 2C)
    expected = torch.tanh(raw[:, :3]) * torch.sigmoid(raw[:, 3:])
    assert torch.allclose(out[1, 2], expected, atol=1e-6)


def test_gated_block_is_causal() -> None:
    block = GatedTemporalConv(channels=4, kernel_size=2, dilation=4)
    h = torch.randn(1, 2, 12, 4, generator=GEN)
    changed = h.clone()
    changed[:, :, 7] += 1.0
    before, after = block(h), block(changed)
    assert torch.equal(before[:, :, :7], after[:, :, :7])
    assert not torch.allclose(before[:, :, 7], after[:, :, 7])
    assert not torch.allclose(before[:, :, 11], after[:, :, 11])  # t − d = 7
    assert torch.equal(before[:, :, 8:11], after[:, :, 8:11])  # only lags 0 and d


@pytest.mark.parametrize(
    ("kernel_size", "dilation", "bias"), [(2, 1, True), (2, 8, True), (3, 2, False)]
)
def test_projection_folded_into_the_conv_equals_conv_of_the_projection(
    kernel_size: int, dilation: int, bias: bool
) -> None:
    project = torch.nn.Linear(3, 5, bias=bias).double()
    conv = CausalConv(5, 4, kernel_size, dilation).double()
    x = torch.randn(2, 7, 12, 3, generator=GEN, dtype=torch.float64)
    folded = conv(x, project)
    expected = conv(project(x))  # the zero padding acts on project(x), bias included
    torch.testing.assert_close(folded, expected, rtol=1e-12, atol=1e-12)
    weights = [conv.linear.weight, conv.linear.bias, project.weight]
    folded_grads = torch.autograd.grad(folded.square().sum(), weights)
    expected_grads = torch.autograd.grad(expected.square().sum(), weights)
    for got, want in zip(folded_grads, expected_grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_gated_block_with_projection_and_its_float64_accuracy() -> None:
    block = GatedTemporalConv(channels=4, kernel_size=2, dilation=3).double()
    project = torch.nn.Linear(2, 4).double()
    x = torch.randn(1, 3, 10, 2, generator=GEN, dtype=torch.float64)
    raw = block.conv(project(x))
    expected = torch.tanh(raw[..., :4]) * torch.sigmoid(raw[..., 4:])
    torch.testing.assert_close(block(x, project), expected, rtol=1e-13, atol=1e-15)
    torch.testing.assert_close(block(project(x)), expected, rtol=1e-13, atol=1e-15)
