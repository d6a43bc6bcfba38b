"""Hawkes excitation: the fast doubling form against the direct O(T·H·N²) sum."""

from __future__ import annotations

import math

import pytest
import torch

from fase.models.layers.hawkes import (
    HawkesExcitation,
    decay_matrix,
    excitation_mask,
    exponential_window_sum,
    hawkes_excitation,
    softplus_inverse,
)

HOURS_7D = 168


def direct_excitation(
    y: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor, window: int, steps: int
) -> torch.Tensor:
    """E_v(t) = Σ_{k<H} e^{−βk} Σ_u α_uv·y_u(t−1−k), lag by lag in float64.

    (B, N, L) → (B, N, T), the last T positions."""
    y, alpha, beta = y.double(), alpha.double(), beta.double()
    drive = torch.einsum("uv,bus->bvs", alpha, y)
    length = y.shape[-1]
    excitation = torch.zeros_like(drive)
    for k in range(min(window, length - 1)):
        excitation[..., 1 + k :] += torch.exp(-beta * k) * drive[..., : length - 1 - k]
    return excitation[..., length - steps :]


def random_counts(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    rate = torch.rand(shape, generator=gen) * 2.0  # bursty: some cells much busier
    return torch.poisson(rate * rate, generator=gen)


def test_hand_computed_example() -> None:
    # One node exciting itself: α = 0.5, β = ln 2 (decay 1/2 per bin), H = 2.
    y = torch.tensor([[[1.0, 0.0, 0.0, 2.0, 0.0]]])
    beta = torch.tensor(math.log(2.0))
    out = hawkes_excitation(y, torch.tensor([[0.5]]), beta, window=2)
    # E(0) = 0; E(1) = z(0) = 0.5; E(2) = z(1) + z(0)/2 = 0.25; E(3) = 0 (z(0) is 3 lags back);
    # E(4) = z(3) = 1.
    assert torch.allclose(out, torch.tensor([[[0.0, 0.5, 0.25, 0.0, 1.0]]]))


@pytest.mark.parametrize("length", [64, 300])  # the dense decay matrix, then doubling
@pytest.mark.parametrize("window", [1, 2, 5, 7, 24, 100, 168, 1000])
def test_window_sum_matches_the_definition_for_any_window(window: int, length: int) -> None:
    z = random_counts((2, 3, length), seed=window)
    beta = torch.tensor(0.05)
    fast = exponential_window_sum(z, beta, window)
    expected = direct_excitation(z, torch.eye(3), beta, window, steps=length)
    torch.testing.assert_close(fast.double(), expected, rtol=1e-5, atol=1e-6)


def test_decay_matrix_by_hand() -> None:
    # K[s, t] = r^(t − 1 − s) for 0 ≤ t − 1 − s < H; r = e^{−β} = 1/2, H = 2, L = 4.
    decay = decay_matrix(4, torch.tensor(math.log(2.0)), window=2)
    expected = torch.tensor(
        [[0.0, 1.0, 0.5, 0.0], [0.0, 0.0, 1.0, 0.5], [0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]]
    )
    torch.testing.assert_close(decay, expected)


@pytest.mark.parametrize("beta", [0.01, 0.1, 1.0, 5.0])
@pytest.mark.parametrize("history", ["carry", "restart"])
def test_fast_equals_direct_sum_in_float32(beta: float, history: str) -> None:
    nodes, steps = 25, 32
    gen = torch.Generator().manual_seed(2)
    mask = excitation_mask((torch.rand(nodes, nodes, generator=gen) < 0.3).float(), True)
    layer = HawkesExcitation(mask, HOURS_7D, history, alpha_init=0.5, beta_init=beta)  # type: ignore[arg-type]
    with torch.no_grad():
        layer.alpha_raw.add_(torch.randn(nodes, nodes, generator=gen))
    y_hist = random_counts((4, nodes, HOURS_7D + steps), seed=1)
    fast = layer(y_hist, steps)
    assert fast.dtype == torch.float32 and fast.shape == (4, nodes, steps)
    used = y_hist if history == "carry" else y_hist[..., HOURS_7D:]
    expected = direct_excitation(used, layer.alpha.detach(), layer.beta.detach(), HOURS_7D, steps)
    torch.testing.assert_close(fast.double(), expected, rtol=1e-5, atol=1e-6)


def test_whole_test_split_at_once_has_no_drift() -> None:
    nodes, steps = 25, 3942  # the simulation's inference pass, with 7 days of history
    y = random_counts((1, nodes, HOURS_7D + steps), seed=4)
    alpha = torch.rand(nodes, nodes, generator=torch.Generator().manual_seed(5))
    beta = torch.tensor(0.01)
    fast = hawkes_excitation(y, alpha, beta, HOURS_7D, steps)
    expected = direct_excitation(y, alpha, beta, HOURS_7D, steps)
    torch.testing.assert_close(fast.double(), expected, rtol=1e-5, atol=1e-6)


def test_history_modes() -> None:
    mask = torch.ones(3, 3)
    y_hist = random_counts((2, 3, 10 + 6), seed=6)
    carry = HawkesExcitation(mask, window=10, history="carry")
    restart = HawkesExcitation(mask, window=10, history="restart")
    assert (carry.history_steps, restart.history_steps) == (10, 0)
    window_only = y_hist[..., 10:]
    # restart: the history before the window is ignored, E starts from zero
    assert torch.equal(restart(y_hist, 6), carry(window_only, 6))
    assert torch.equal(restart(y_hist, 6)[..., 0], torch.zeros(2, 3))
    # carry: the first window step already feels the preceding counts
    first = carry(y_hist, 6)[..., 0]
    expected = direct_excitation(y_hist, carry.alpha.detach(), carry.beta.detach(), 10, 6)[..., 0]
    assert torch.allclose(first.double(), expected) and bool((first > 0).all())


def test_excitation_is_exactly_causal() -> None:
    y = random_counts((2, 4, 80), seed=7)
    alpha, beta = torch.rand(4, 4, generator=torch.Generator().manual_seed(7)), torch.tensor(0.3)
    changed = y.clone()
    changed[:, 1, 40] += 5.0
    before, after = (
        hawkes_excitation(y, alpha, beta, 24),
        hawkes_excitation(changed, alpha, beta, 24),
    )
    assert torch.equal(before[..., :41], after[..., :41])  # E(t) reads y up to t − 1
    assert not torch.allclose(before[..., 41], after[..., 41])
    assert not torch.allclose(before[..., 64], after[..., 64])  # lag H − 1 = 23
    assert torch.equal(before[..., 65:], after[..., 65:])  # beyond H lags


def test_initialisation_and_masks() -> None:
    a_geo = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    paper = excitation_mask(a_geo, self_excitation=False)
    default = excitation_mask(a_geo, self_excitation=True)
    assert torch.equal(paper, a_geo) and torch.equal(default, a_geo + torch.eye(3))
    layer = HawkesExcitation(paper, window=HOURS_7D)
    assert softplus_inverse(0.5) == pytest.approx(-0.4327521, abs=1e-7)
    assert softplus_inverse(1.0) == pytest.approx(0.5413249, abs=1e-7)
    assert torch.allclose(layer.alpha_raw, torch.full((3, 3), -0.4327521))
    assert layer.beta_raw.item() == pytest.approx(0.5413249, abs=1e-7)
    assert torch.allclose(layer.alpha, 0.5 * a_geo) and layer.beta.item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="binary"):
        HawkesExcitation(0.5 * a_geo, window=4)
    with pytest.raises(ValueError, match="at least one bin"):
        HawkesExcitation(a_geo, window=0)


def test_gradients_match_the_direct_sum() -> None:
    gen = torch.Generator().manual_seed(8)
    mask = excitation_mask((torch.rand(4, 4, generator=gen) < 0.5).float(), self_excitation=True)
    layer = HawkesExcitation(mask, window=12, history="carry").double()
    y_hist = random_counts((3, 4, 12 + 8), seed=8).double()
    weights = torch.randn(3, 4, 8, dtype=torch.float64, generator=gen)
    (layer(y_hist, 8) * weights).sum().backward()
    alpha_raw = layer.alpha_raw.detach().clone().requires_grad_()
    beta_raw = layer.beta_raw.detach().clone().requires_grad_()
    alpha = torch.nn.functional.softplus(alpha_raw) * mask.double()
    beta = torch.nn.functional.softplus(beta_raw)
    (direct_excitation(y_hist, alpha, beta, 12, 8) * weights).sum().backward()
    assert layer.beta_raw.grad is not None and layer.beta_raw.grad.abs() > 0
    torch.testing.assert_close(layer.alpha_raw.grad, alpha_raw.grad)
    torch.testing.assert_close(layer.beta_raw.grad, beta_raw.grad)
    assert torch.equal(
        layer.alpha_raw.grad[mask == 0], torch.zeros(int((mask == 0).sum()), dtype=torch.float64)
    )


@pytest.mark.parametrize("length", [15, 300])  # the dense decay matrix, then doubling
def test_gradcheck(length: int) -> None:
    y = random_counts((2, 3, length), seed=9).double()
    alpha = torch.rand(3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    alpha.requires_grad_()
    beta = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a, b: hawkes_excitation(y, a, b, 6, length - 5), (alpha, beta)
    )
