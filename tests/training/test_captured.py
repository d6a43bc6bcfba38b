"""The captured retraining step (:mod:`fase.training.captured`) against the eager one.

On the CPU the step runs its step function eagerly over the static buffers (no graph):
the weights and losses must equal :func:`fase.training.train_epochs`' bit for bit, with
dropout and clipping on, over several epochs and two retrainings (a fresh Adam each).
On a GPU (skipped without one) the replayed CUDA graph must agree with the eager GPU
step to 1e-5 relative (float32, TF32 off): the same kernels and dropout draws, so the
measured gap is expected to be zero or float rounding.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from tests.training.helpers import synthetic_series, tiny_model
from torch import Tensor, nn

from fase.models.fase import FASEModel
from fase.runtime import torch_seeded
from fase.training.captured import CapturedStep, CaptureError, StepSettings
from fase.training.passes import train_epochs
from fase.training.windows import CountSeries

STARTS = np.arange(0, 6 * 16, 16)  # six 16-bin windows
SETTINGS = StepSettings(
    window=16, batch_size=2, steps=3, lr=1e-2, weight_decay=1e-4, grad_clip=0.5
)  # a tight clip, so that clipping acts
SEED = 11


def series(scale: float, device: str = "cpu") -> CountSeries:
    """The synthetic record with counts scaled by ``scale`` (a cycle's observed counts)."""
    x, y = synthetic_series()
    return CountSeries(x, y * scale, tiny_model().history_steps).to(device)


def eager(model: nn.Module, record: CountSeries, generator: torch.Generator) -> list[float]:
    """One retraining as ``NeuralForecaster.retrain`` runs it eagerly: a fresh fused Adam."""
    optimizer = torch.optim.Adam(
        model.parameters(), lr=SETTINGS.lr, weight_decay=SETTINGS.weight_decay, fused=True
    )
    return train_epochs(
        model, record, STARTS, optimizer, epochs=3, window=SETTINGS.window,
        batch_size=SETTINGS.batch_size, generator=generator, grad_clip=SETTINGS.grad_clip,
        reduction="batch_mean",
    )  # fmt: skip


def run_both(device: str) -> tuple[nn.Module, nn.Module, list[list[float]], list[list[float]]]:
    """Two retranings (counts × 1 then × 0.5) of one model, eagerly and by CapturedStep,
    each inside ``torch_seeded`` like the forecaster's; (eager model, stepped model,
    eager losses, stepped losses)."""
    reference, stepped = tiny_model().to(device), tiny_model().to(device)
    shuffle_a, shuffle_b = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    devices = [0] if device == "cuda" else []
    eager_losses, step_losses = [], []
    step: CapturedStep | None = None
    for call, scale in enumerate((1.0, 0.5)):
        with torch_seeded(SEED + call, devices):
            eager_losses.append(eager(reference, series(scale, device), shuffle_a))
        with torch_seeded(SEED + call, devices):
            record = series(scale, device)
            step = step or CapturedStep(stepped, record, SETTINGS)
            step_losses.append(
                step.train_epochs(
                    record, STARTS, epochs=3, generator=shuffle_b, reduction="batch_mean"
                )
            )
    assert step is not None
    assert (step.graph is not None) == (device == "cuda")
    return reference, stepped, eager_losses, step_losses


def test_static_step_equals_the_eager_step_bit_for_bit_on_cpu() -> None:
    reference, stepped, eager_losses, step_losses = run_both("cpu")
    assert step_losses == eager_losses
    assert eager_losses[0] != eager_losses[1]  # the second retraining saw other counts
    for p, q in zip(reference.parameters(), stepped.parameters(), strict=True):
        assert torch.equal(p, q)
    untrained = tiny_model()
    assert any(not torch.equal(p, q) for p, q in zip(untrained.parameters(),
               stepped.parameters(), strict=True))  # fmt: skip


def test_preparing_the_step_changes_no_weight_and_no_random_stream() -> None:
    model = tiny_model()
    before = copy.deepcopy(model.state_dict())
    rng = torch.get_rng_state()
    step = CapturedStep(model, series(1.0), SETTINGS)
    assert torch.equal(torch.get_rng_state(), rng)
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), name
    moments = [v for state in step.optimizer.state.values() for v in state.values()]
    assert moments and all(not bool(v.any()) for v in moments)  # warmed up, then zeroed


def test_step_refuses_other_shapes_and_says_what_it_fits() -> None:
    model = tiny_model()
    record = series(1.0)
    step = CapturedStep(model, record, SETTINGS)
    with pytest.raises(ValueError, match="3 minibatches of 2 windows"):
        step.train_epochs(record, STARTS[:4], epochs=1, generator=torch.Generator())
    with pytest.raises(IndexError):
        step.train_epochs(record, STARTS + 300, epochs=1, generator=torch.Generator())
    assert step.fits(model, series(0.5), SETTINGS)
    assert not step.fits(tiny_model(), record, SETTINGS)
    other = StepSettings(**{**SETTINGS.__dict__, "lr": 1e-3})
    assert not step.fits(model, record, other)
    x, y = synthetic_series()
    assert not step.fits(model, CountSeries(x[:, :200], y[:, :200], model.history_steps), SETTINGS)


needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")


@needs_gpu
def test_gpu_captured_step_equals_the_eager_cuda_step() -> None:
    """Three epochs of three steps, twice: the replayed graph against eager CUDA steps
    drawing the same dropout masks (CUDA generator), float32 with TF32 off."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    reference, stepped, eager_losses, step_losses = run_both("cuda")
    np.testing.assert_allclose(step_losses, eager_losses, rtol=1e-5)
    for p, q in zip(reference.parameters(), stepped.parameters(), strict=True):
        torch.testing.assert_close(q, p, rtol=1e-5, atol=1e-6)


class HostRead(FASEModel):
    """FASE whose forward reads a tensor on the host: not capturable."""

    def forward(self, x: Tensor, y_hist: Tensor) -> dict[str, Tensor]:
        params = super().forward(x, y_hist)
        if float(params["mu"].detach().sum()) < 0:  # a host read (never true)
            raise AssertionError
        return params


@needs_gpu
def test_gpu_capture_failure_leaves_the_model_and_the_generators_unchanged() -> None:
    model = tiny_model().cuda()
    model.__class__ = HostRead
    before = copy.deepcopy(model.state_dict())
    rng = torch.cuda.get_rng_state()
    with pytest.raises(CaptureError, match="cannot be captured"):
        CapturedStep(model, series(1.0, "cuda"), SETTINGS)
    assert torch.equal(torch.cuda.get_rng_state(), rng)
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), name
    model.__class__ = FASEModel  # the GPU still works: an eager retraining runs
    losses = eager(model, series(1.0, "cuda"), torch.Generator().manual_seed(0))
    assert np.isfinite(losses).all()
