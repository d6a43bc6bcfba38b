"""Multivariate Hawkes excitation (paper Eqs. 3–4), used as a feature of the forecast.

    z_v(s) = Σ_u α_uv · y_u(s)                      α ≥ 0 on the mask's edges, source u → target v
    E_v(t) = Σ_{k=0}^{H−1} e^{−βk} · z_v(t − 1 − k)   β > 0, H bins of memory, z = 0 before s = 0

E_v(t) uses counts up to t − 1 only. Two named options:

* mask: A_geo + I (default; a node's own past excites it, "self-exciting") or A_geo
  (paper; neighbours only) — see :func:`excitation_mask`;
* history: ``"carry"`` (default) — the caller passes the P bins before the window
  (P = H), so the 7-day memory acts in training exactly as at inference; ``"restart"``
  (paper) — the history restarts at every window start, whatever P is given.

Algorithm (:func:`exponential_window_sum`): for series of at most 256 bins (training
windows), one product E = z·K with the (L, L) decay matrix K[s, t] = e^{−β(t−1−s)} for
0 ≤ t − 1 − s < H, else 0 — a few operations instead of the doubling's 4·log₂ H small ones.
Longer series (forecasts over a whole split): windowed sums by doubling. With r = e^{−β},
W_0 = z and W_{m+1}(s) = W_m(s) + r^{2^m}·W_m(s − 2^m), W_m(s) is the sum of r^d·z(s−d) for
d < 2^m. Splitting [0, H) into the binary digits of H gives
E(t) = Σ_j r^{o_j}·W_{m_j}(t − 1 − o_j). This is O(L·N·log H) plus O(L·N²) for z, for a
series of length L. Every term is non-negative, so float32 is accurate (relative error
~log₂H ulps; no subtractive truncation). It reads only the past, so it is exactly causal,
and it is differentiable in α and β.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def softplus_inverse(value: float) -> float:
    """x with softplus(x) = value > 0: log(e^value − 1) (0.5 → −0.4327521, 1 → 0.5413249)."""
    return value + math.log(-math.expm1(-value))


def excitation_mask(a_geo: Tensor, self_excitation: bool) -> Tensor:
    """Binary Hawkes mask (N, N): A_geo's edges, plus the diagonal if ``self_excitation``."""
    mask = (a_geo != 0).to(a_geo.dtype)
    if self_excitation:
        mask = mask.fill_diagonal_(1.0)
    return mask


def _shift(series: Tensor, lag: int) -> Tensor:
    """series(s − lag) along the last axis, zero before the start. (…, L) → (…, L)."""
    length = series.shape[-1]
    if lag >= length:
        return torch.zeros_like(series)
    return F.pad(series[..., : length - lag], (lag, 0))


_DENSE_MAX_LENGTH = 256  # series up to this many bins use the dense decay matrix


def decay_matrix(length: int, beta: Tensor, window: int) -> Tensor:
    """K (L, L) with K[s, t] = e^{−β(t−1−s)} for 0 ≤ t − 1 − s < H, else 0 (H = ``window``).

    z·K along the last axis is :func:`exponential_window_sum`; K is differentiable in β.
    """
    index = torch.arange(length, device=beta.device)
    lag = index - 1 - index.unsqueeze(1)  # [s, t] → t − 1 − s
    inside = (lag >= 0) & (lag < window)
    return torch.where(inside, torch.exp(-beta * lag.clamp(min=0).to(beta.dtype)), 0.0)


def exponential_window_sum(z: Tensor, beta: Tensor, window: int) -> Tensor:
    """E(t) = Σ_{k=0}^{H−1} e^{−βk}·z(t − 1 − k) along the last axis, z = 0 before index 0.

    Args:
        z: (…, L) non-negative drive (any sign works; accuracy is stated for z ≥ 0).
        beta: scalar tensor, decay per bin, β > 0.
        window: H ≥ 1 bins of memory.
    Returns:
        (…, L) tensor; entry t uses z up to t − 1.
    """
    if window < 1:
        raise ValueError(f"the Hawkes window must be at least one bin, got {window}")
    window = min(window, z.shape[-1])  # lags ≥ L only ever reach the zeros before the series
    if z.shape[-1] <= _DENSE_MAX_LENGTH:
        return torch.matmul(z, decay_matrix(z.shape[-1], beta, window))
    excitation = torch.zeros_like(z)
    block, offset, span = z, 0, 1  # block = W_m, span = 2^m
    while True:
        if window & span:
            excitation = excitation + torch.exp(-beta * offset) * _shift(block, 1 + offset)
            offset += span
        if offset == window:
            return excitation
        block = block + torch.exp(-beta * span) * _shift(block, span)
        span *= 2


def hawkes_excitation(
    y: Tensor, alpha: Tensor, beta: Tensor, window: int, steps: int | None = None
) -> Tensor:
    """Excitation E_v(t) for the last ``steps`` positions of a count series.

    Args:
        y: (B, N, L) counts; the first L − steps bins are history before the window.
        alpha: (N, N) non-negative weights α[u, v], source u → target v (already masked).
        beta: scalar tensor, β > 0 (per bin).
        window: H, bins of memory.
        steps: T, window length (default L: the whole series).
    Returns:
        E (B, N, T), E[:, v, i] = E_v(L − T + i).
    """
    length = y.shape[-1]
    steps = length if steps is None else steps
    if not 0 < steps <= length:
        raise ValueError(f"cannot take {steps} window steps from a series of {length} bins")
    drive = torch.matmul(alpha.T, y)  # z[b, v, s] = Σ_u α[u, v]·y[b, u, s]
    return exponential_window_sum(drive, beta, window)[..., length - steps :]


class HawkesExcitation(nn.Module):
    """Learnable Hawkes excitation: α = softplus(α_raw) ⊙ mask, β = softplus(β_raw).

    Parameters: ``alpha_raw`` (N, N), initialised to softplus⁻¹(alpha_init) everywhere
    (entries off the mask stay unused, as in the paper's 625-entry matrix), and scalar
    ``beta_raw`` = softplus⁻¹(beta_init).

    Shapes: y_hist (B, N, P + T) → E (B, N, T); in ``"restart"`` mode the first P bins
    are ignored.
    """

    def __init__(
        self,
        mask: Tensor,
        window: int,
        history: Literal["carry", "restart"] = "carry",
        alpha_init: float = 0.5,
        beta_init: float = 1.0,
    ) -> None:
        super().__init__()
        if mask.ndim != 2 or mask.shape[0] != mask.shape[1]:
            raise ValueError(f"the Hawkes mask must be square (N, N), got {tuple(mask.shape)}")
        if not bool(((mask == 0) | (mask == 1)).all()):
            raise ValueError("the Hawkes mask must be binary (0/1)")
        if history not in ("carry", "restart"):
            raise ValueError(f"unknown Hawkes history mode {history!r}")
        if window < 1:
            raise ValueError(f"the Hawkes window must be at least one bin, got {window}")
        self.window = window
        self.history = history
        self.register_buffer("mask", mask.to(torch.get_default_dtype()))
        num_nodes = mask.shape[0]
        self.alpha_raw = nn.Parameter(
            torch.full((num_nodes, num_nodes), softplus_inverse(alpha_init))
        )
        self.beta_raw = nn.Parameter(torch.tensor(softplus_inverse(beta_init)))

    @property
    def alpha(self) -> Tensor:
        """α (N, N) ≥ 0, zero off the mask; α[u, v] is the excitation of v by u."""
        return F.softplus(self.alpha_raw) * self.mask

    @property
    def beta(self) -> Tensor:
        """β > 0, decay per bin (scalar)."""
        return F.softplus(self.beta_raw)

    @property
    def history_steps(self) -> int:
        """P, the bins of history a caller should pass before each window: H or 0."""
        return self.window if self.history == "carry" else 0

    def forward(self, y_hist: Tensor, steps: int) -> Tensor:
        if self.history == "restart":
            y_hist = y_hist[..., y_hist.shape[-1] - steps :]
        return hawkes_excitation(y_hist, self.alpha, self.beta, self.window, steps)
