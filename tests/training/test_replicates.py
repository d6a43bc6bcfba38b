"""Batched retraining of K model copies: slice k is copy k retrained alone.

Tolerances: in float64 the batched weights and losses equal the separate runs' to 1e-10
(relative to each tensor's largest entry; the measured gap is ~1e-15, the batched matrix
products only sum in another order). In float32 that rounding (~1e-7) grows through
Adam, which divides by √v and so amplifies the noise of near-zero gradients: a few
steps stay within 1e-5, longer runs drift further (docs/simulation.md).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from tests.training.helpers import synthetic_series, tiny_model

from fase.runtime import torch_seeded
from fase.training.passes import train_epochs
from fase.training.replicates import ReplicateJob, device_dropout_scale, train_replicates
from fase.training.windows import CountSeries

K = 3
STARTS = np.arange(0, 6 * 16, 16)  # six 16-bin windows per copy
SETTINGS = {"window": 16, "batch_size": 2, "lr": 1e-2, "weight_decay": 1e-4}


def copy_series(k: int, dtype: torch.dtype, history: int) -> CountSeries:
    """Copy k's own observed record: the synthetic counts thinned by copy."""
    x, y = synthetic_series()
    series = CountSeries(x, y * (1.0 - 0.2 * k), history)
    return series.to(dtype)  # type: ignore[arg-type]  # Tensor.to takes a dtype as well


def alone(
    model: torch.nn.Module, k: int, dtype: torch.dtype, epochs: int, grad_clip: float
) -> tuple[torch.nn.Module, list[float]]:
    """Copy k retrained on its own, as NeuralForecaster.retrain does."""
    model = copy.deepcopy(model)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=SETTINGS["lr"], weight_decay=SETTINGS["weight_decay"], fused=True
    )
    with torch_seeded(100 + k):
        losses = train_epochs(
            model,
            copy_series(k, dtype, model.history_steps),
            STARTS,
            optimizer,
            epochs=epochs,
            window=SETTINGS["window"],
            batch_size=SETTINGS["batch_size"],
            generator=torch.Generator().manual_seed(k),
            grad_clip=grad_clip,
        )
    return model, losses


def together(
    model: torch.nn.Module, dtype: torch.dtype, epochs: int, grad_clip: float
) -> tuple[list[torch.nn.Module], list[list[float]]]:
    """The K copies retrained as one batched model."""
    copies = [copy.deepcopy(model) for _ in range(K)]
    jobs = [
        ReplicateJob(
            copies[k],
            copy_series(k, dtype, model.history_steps),
            STARTS,
            torch.Generator().manual_seed(k),
            100 + k,
        )
        for k in range(K)
    ]
    losses = train_replicates(jobs, epochs=epochs, grad_clip=grad_clip, **SETTINGS)
    return copies, losses


@torch.no_grad()
def largest_gap(a: torch.nn.Module, b: torch.nn.Module) -> float:
    """max over tensors of max |a − b| / max |a|."""
    return max(
        float((p - q).abs().max() / p.abs().max().clamp(min=1e-30))
        for p, q in zip(a.parameters(), b.parameters(), strict=True)
    )


@pytest.mark.parametrize("grad_clip", [0.05, 5.0])  # clipping every step / rarely
def test_each_slice_equals_its_copy_retrained_alone_in_float64(grad_clip: float) -> None:
    model = tiny_model(dropout=0.3).double()
    copies, losses = together(model, torch.float64, epochs=3, grad_clip=grad_clip)
    for k in range(K):
        reference, reference_losses = alone(model, k, torch.float64, 3, grad_clip)
        assert largest_gap(reference, copies[k]) < 1e-10
        np.testing.assert_allclose(losses[k], reference_losses, rtol=1e-10)
        assert largest_gap(model, copies[k]) > 1e-3  # the copies did train
    assert largest_gap(copies[0], copies[1]) > 1e-3  # each on its own data and masks


def test_float32_slices_match_within_float_rounding() -> None:
    model = tiny_model(dropout=0.3)
    copies, losses = together(model, torch.float32, epochs=1, grad_clip=5.0)
    for k in range(K):
        reference, reference_losses = alone(model, k, torch.float32, 1, 5.0)
        assert largest_gap(reference, copies[k]) < 1e-5
        np.testing.assert_allclose(losses[k], reference_losses, rtol=1e-5)


def test_same_seeds_give_the_same_numbers() -> None:
    model = tiny_model(dropout=0.3)
    first, first_losses = together(model, torch.float32, epochs=2, grad_clip=5.0)
    second, second_losses = together(model, torch.float32, epochs=2, grad_clip=5.0)
    assert first_losses == second_losses
    for a, b in zip(first, second, strict=True):
        assert largest_gap(a, b) == 0.0


def test_device_masks_keep_one_minus_p_scaled_and_follow_their_seed() -> None:
    """The masks the batched retraining draws off the CPU (here on the CPU generator, the
    same code): values 0 or 1/q with q = 0.7 in float32, a kept share within 4 standard
    errors of q, the same mask for the same seed and another for another seed."""
    generator = torch.Generator()
    shape = (4, 9, 16, 8)
    first = device_dropout_scale(shape, 0.3, generator.manual_seed(5), torch.float32)
    again = device_dropout_scale(shape, 0.3, generator.manual_seed(5), torch.float32)
    other = device_dropout_scale(shape, 0.3, generator.manual_seed(6), torch.float32)
    keep = torch.tensor(1.0) / torch.tensor(0.7)  # float32, as nn.Dropout scales
    assert first.shape == shape and first.dtype == torch.float32
    assert set(first.unique().tolist()) == {0.0, keep.item()}
    share, n = float((first > 0).float().mean()), first.numel()
    assert abs(share - 0.7) < 4 * (0.7 * 0.3 / n) ** 0.5
    assert torch.equal(first, again) and not torch.equal(first, other)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_gpu_batched_retraining_with_dropout_repeats_for_the_same_seeds() -> None:
    """With dropout on a GPU the masks are drawn there: the same seeds give the same
    numbers, and dropout changes them."""
    model = tiny_model(dropout=0.3).cuda()

    def run(dropout: float) -> list[list[float]]:
        network = copy.deepcopy(model)
        for layer in network.modules():
            if hasattr(layer, "p"):
                layer.p = dropout
        jobs = [
            ReplicateJob(
                copy.deepcopy(network),
                copy_series(k, torch.float32, model.history_steps).to("cuda"),
                STARTS,
                torch.Generator().manual_seed(k),
                100 + k,
            )
            for k in range(K)
        ]
        return train_replicates(jobs, epochs=2, grad_clip=5.0, **SETTINGS)

    first = run(0.3)
    assert first == run(0.3)
    assert first != run(0.0)


def test_copies_need_the_same_number_of_windows() -> None:
    model = tiny_model()
    jobs = [
        ReplicateJob(
            copy.deepcopy(model),
            copy_series(k, torch.float32, model.history_steps),
            STARTS[: 6 - k],
            torch.Generator(),
            k,
        )
        for k in range(2)
    ]
    with pytest.raises(ValueError, match="same number of windows"):
        train_replicates(jobs, epochs=1, grad_clip=5.0, **SETTINGS)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_gpu_slices_equal_copies_retrained_alone_without_dropout() -> None:
    """On a GPU the separate runs draw dropout from the CUDA generator, which the batched
    path does not reproduce: compared without dropout, float32 (TF32 off)."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    model = tiny_model(dropout=0.0).cuda()

    def on_gpu(series: CountSeries) -> CountSeries:
        return series.to("cuda")

    copies = [copy.deepcopy(model) for _ in range(K)]
    jobs = [
        ReplicateJob(
            copies[k],
            on_gpu(copy_series(k, torch.float32, model.history_steps)),
            STARTS,
            torch.Generator().manual_seed(k),
            100 + k,
        )
        for k in range(K)
    ]
    losses = train_replicates(jobs, epochs=1, grad_clip=5.0, **SETTINGS)
    for k in range(K):
        reference = copy.deepcopy(model)
        optimizer = torch.optim.Adam(
            reference.parameters(), lr=SETTINGS["lr"], weight_decay=SETTINGS["weight_decay"],
            fused=True,
        )  # fmt: skip
        reference_losses = train_epochs(
            reference, on_gpu(copy_series(k, torch.float32, model.history_steps)), STARTS,
            optimizer, epochs=1, window=SETTINGS["window"], batch_size=SETTINGS["batch_size"],
            generator=torch.Generator().manual_seed(k), grad_clip=5.0,
        )  # fmt: skip
        assert largest_gap(reference, copies[k]) < 1e-4
        np.testing.assert_allclose(losses[k], reference_losses, rtol=1e-4)
