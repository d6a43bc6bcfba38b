"""Temporal layers: dilated causal convolution and the gated (WaveNet) block.

Tensors are channels-last, (…, T, C), the layout of the whole model, so no transposes
are needed; the convolution is one matrix product over k time-shifted copies of the
input, which on CPU is several times faster than a dilated ``Conv1d``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def shift_in_time(x: Tensor, lag: int) -> Tensor:
    """x[…, t − lag, :] with zeros for t < lag. (…, T, C) → (…, T, C)."""
    if lag == 0:
        return x
    steps = x.shape[-2]
    if lag >= steps:
        return torch.zeros_like(x)
    return F.pad(x[..., : steps - lag, :], (0, 0, lag, 0))


class CausalConv(nn.Module):
    """Dilated causal convolution along time.

    out[t] = b + Σ_{j=0}^{k−1} W_j · x[t − (k−1−j)·d], with x[s] = 0 for s < 0, so out[t]
    depends on x up to t only; for k = 2: out[t] = W₀·x[t−d] + W₁·x[t] + b. W_j is
    ``linear.weight[:, j·C_in:(j+1)·C_in]``; the parameters (k·C_in·C_out + C_out) and
    their initialisation equal those of ``nn.Conv1d(C_in, C_out, k, dilation=d)``.

    Shapes: x (…, T, C_in) → (…, T, C_out).
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, dilation: int
    ) -> None:
        super().__init__()
        self.lags = [(kernel_size - 1 - j) * dilation for j in range(kernel_size)]
        self.linear = nn.Linear(kernel_size * in_channels, out_channels)

    def forward(self, x: Tensor) -> Tensor:
        taps = [shift_in_time(x, lag) for lag in self.lags]
        return self.linear(taps[0] if len(taps) == 1 else torch.cat(taps, dim=-1))


class GatedTemporalConv(nn.Module):
    """Gated activation of a causal convolution (WaveNet): tanh(f) ⊙ σ(g).

    One convolution C → 2C; f is its first C output channels, g the last C.
    Applied to every node's series independently.

    Shapes: h (B, N, T, C) → (B, N, T, C).
    """

    def __init__(self, channels: int, kernel_size: int, dilation: int) -> None:
        super().__init__()
        self.conv = CausalConv(channels, 2 * channels, kernel_size, dilation)

    def forward(self, h: Tensor) -> Tensor:
        filt, gate = self.conv(h).chunk(2, dim=-1)
        return torch.tanh(filt) * torch.sigmoid(gate)
