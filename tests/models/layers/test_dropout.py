"""Dropout with SFC64 masks: the distribution, the scale of nn.Dropout, the global RNG."""

from __future__ import annotations

import math

import pytest
import torch

from fase.models.layers.dropout import Dropout, dropout_scale

COUNT = 1_000_000


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_keep_rate_and_pair_independence(p: float) -> None:
    q = 1.0 - p
    kept = dropout_scale((COUNT,), p, seed=7, dtype=torch.float64) != 0
    rate = kept.double().mean().item()
    assert abs(rate - q) < 5 * math.sqrt(q * p / COUNT)  # binomial: 5 standard errors
    both = (kept[:-1] & kept[1:]).double().mean().item()  # neighbours are independent
    assert abs(both - q * q) < 5 * math.sqrt(q * q * (1 - q * q) / COUNT)
    low, high = kept[0::2].double().mean().item(), kept[1::2].double().mean().item()
    assert abs(low - high) < 10 * math.sqrt(q * p / COUNT)  # both halves of each word


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("p", [0.2, 0.3, 0.7])
def test_scale_is_exactly_that_of_nn_dropout(dtype: torch.dtype, p: float) -> None:
    scale = dropout_scale((400,), p, seed=1, dtype=dtype)
    torch.manual_seed(0)
    reference = torch.nn.Dropout(p)(torch.ones(400, dtype=dtype))
    assert scale.dtype == dtype
    assert set(scale.unique().tolist()) == {0.0, reference.max().item()}


def test_same_seed_same_mask_and_no_dropout_at_p_zero() -> None:
    a = dropout_scale((3, 50), 0.2, seed=11, dtype=torch.float32)
    assert torch.equal(a, dropout_scale((3, 50), 0.2, seed=11, dtype=torch.float32))
    assert not torch.equal(a, dropout_scale((3, 50), 0.2, seed=12, dtype=torch.float32))
    assert torch.equal(dropout_scale((7,), 0.0, seed=3, dtype=torch.float32), torch.ones(7))
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        dropout_scale((7,), 1.0, seed=3, dtype=torch.float32)


def test_module_draws_from_the_global_torch_rng() -> None:
    layer = Dropout(0.2)
    x = torch.randn(4, 5, 6, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(5)
    first = layer(x)
    state = torch.get_rng_state()
    second = layer(x)
    torch.manual_seed(5)
    assert torch.equal(layer(x), first)  # manual_seed fixes the mask
    torch.set_rng_state(state)
    assert torch.equal(layer(x), second)  # and the RNG state (exact resume)
    assert not torch.equal(first, second)
    kept = first != 0
    assert torch.allclose(first[kept], x[kept] * 1.25) and 0 < int(kept.sum()) < x.numel()


def test_gradient_is_the_scale_and_eval_is_the_identity() -> None:
    layer = Dropout(0.5)
    x = torch.randn(8, 9, requires_grad=True)
    out = layer(x)
    out.sum().backward()
    assert x.grad is not None and torch.equal(x.grad, torch.where(out != 0, 2.0, 0.0))
    assert layer.eval()(x) is x and Dropout(0.0)(x) is x
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        Dropout(1.0)


def test_other_dtypes_fall_back_to_torch_dropout() -> None:
    x = torch.ones(1000, dtype=torch.bfloat16)
    torch.manual_seed(2)
    out = Dropout(0.5)(x)
    assert out.dtype == torch.bfloat16 and set(out.unique().tolist()) == {0.0, 2.0}
