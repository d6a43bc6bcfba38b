"""Batched retraining: K independent copies of one network fine-tuned as one model.

The feedback simulator retrains every replicate and every policy variant of a study on
its own windows, with batches of one or a few windows: steps far too small to fill a
CPU or a GPU one at a time. :func:`train_replicates` stacks the K copies' weights along
a leading replicate axis (``torch.func.stack_module_state``) and runs each optimiser
step of all K at once: one ``torch.func.vmap`` of ``functional_call`` over the forward
pass and the loss, one backward, per-copy clipping, one Adam over the stacked tensors.

Copy k follows exactly the recipe of :meth:`NeuralForecaster.retrain` run alone:

* its minibatches: its own windows, shuffled by its own generator, the same sizes;
* its dropout: :class:`~fase.models.layers.Dropout` masks drawn, in the order the layers
  run, from a torch generator seeded with the seed its own run would give the global
  RNG (:func:`fase.models.layers.dropout.scales_from` feeds them to the batched pass);
* its loss: the minibatch mean NLL (or MSE) of its own targets; the summed loss of the
  K copies has the per-copy gradients as its slices;
* global-norm clipping per copy (the norm over that copy's gradients only), and Adam,
  which is elementwise, on the stacked tensors: the step count is shared, as every copy
  takes the same number of steps.

So slice k equals copy k trained alone up to float rounding (batched matrix products
sum in another order): tested to 1e-5 relative on the weights after several steps. On a
GPU the sequential path draws dropout with ``F.dropout`` (CUDA generator), so slices
equal sequential GPU runs only without dropout; the batched path draws its masks on the
device too (:func:`device_dropout_scale`, seeded per call from copy k's seed stream), and
its numbers are the same for the same seeds on the same device.

Requirements: every copy has the same architecture (same parameter shapes and buffers),
the same number of windows (so the same minibatch sizes) and the same window length.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap

from fase.models.layers.dropout import dropout_scale, scales_from
from fase.training.passes import (
    Objective,
    Reduction,
    minibatches,
    objective_loss,
    reduce_losses,
)
from fase.training.windows import CountSeries

DROPOUT_SEED_BOUND = 2**63 - 1  # as Dropout draws its per-call seed from the global RNG


@dataclass(frozen=True)
class ReplicateJob:
    """One copy's retraining.

    Attributes:
        module: the copy (a :class:`~fase.models.CountNetwork`), updated in place.
        series: its windows' source (its own observed counts), on the module's device.
        starts: (K_w,) int64 window starts in ``series``; the same K_w for every job.
        generator: its shuffle generator (advanced as its own run would advance it).
        dropout_seed: the seed its own run gives torch's global RNG for the retraining.
    """

    module: nn.Module
    series: CountSeries
    starts: np.ndarray
    generator: torch.Generator
    dropout_seed: int


def _dropout_calls(
    template: nn.Module, params: dict[str, Tensor], buffers: dict[str, Tensor], x: Tensor, y: Tensor
) -> list[tuple[tuple[int, ...], float, torch.dtype]]:
    """(shape, p, dtype) of every dropout call of one copy's forward pass, in order."""
    calls: list[tuple[tuple[int, ...], float, torch.dtype]] = []

    def record(shape: tuple[int, ...], p: float, dtype: torch.dtype) -> Tensor:
        calls.append((shape, p, dtype))
        return torch.ones((), dtype=dtype, device=x.device)

    first = {name: value[0] for name, value in (params | buffers).items()}
    with torch.no_grad(), scales_from(record):
        functional_call(template, first, (x[0], y[0]))
    return calls


def _scales(
    calls: list[tuple[tuple[int, ...], float, torch.dtype]],
    generators: list[torch.Generator],
    device: torch.device,
) -> list[Tensor]:
    """Per dropout call, the (K, *shape) multipliers: copy k's from its own generator,
    one seed per call in call order, as :class:`Dropout` draws them on the CPU; on
    another device drawn there (:func:`device_dropout_scale`)."""
    drawn: list[list[Tensor]] = [[] for _ in calls]
    on_device = torch.Generator(device) if device.type != "cpu" else None
    for generator in generators:
        for j, (shape, p, dtype) in enumerate(calls):
            seed = int(torch.randint(DROPOUT_SEED_BOUND, (), generator=generator))
            if on_device is None:
                drawn[j].append(dropout_scale(shape, p, seed, dtype))
            else:
                drawn[j].append(device_dropout_scale(shape, p, on_device.manual_seed(seed), dtype))
    return [torch.stack(values).to(device) for values in drawn]


def device_dropout_scale(
    shape: tuple[int, ...], p: float, generator: torch.Generator, dtype: torch.dtype
) -> Tensor:
    """The dropout multiplier m/q (1/q kept, 0 dropped, P(kept) = q = 1 − p) drawn on the
    generator's device from its uniform stream: on a GPU, the batched retraining's masks
    cost kernels there instead of host draws and a copy (for 20 copies of the default
    model, 101 M values per step: 0.72 s on the 2-core CPU this was built on). The same
    seed gives the same mask on the same device; it is not the CPU path's mask."""
    uniform = torch.rand(shape, generator=generator, device=generator.device)
    keep = (torch.tensor(1.0, dtype=dtype) / torch.tensor(1.0 - p, dtype=dtype)).item()
    return (uniform < 1.0 - p).to(dtype) * keep  # 1/q in the dtype, as nn.Dropout scales


def _clip_per_copy(grads: list[Tensor], max_norm: float) -> None:
    """``clip_grad_norm_`` for each copy: every copy's gradients (slices k of ``grads``)
    scaled by min(1, max_norm / (‖g_k‖₂ + 1e-6)), its global L2 norm."""
    norms = torch.stack([torch.linalg.vector_norm(g.reshape(len(g), -1), dim=1) for g in grads])
    total = torch.linalg.vector_norm(norms, dim=0)  # (K,)
    coefficient = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(coefficient.view(-1, *([1] * (g.ndim - 1))))


def train_replicates(
    jobs: Sequence[ReplicateJob],
    *,
    epochs: int,
    window: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    grad_clip: float | None,
    reduction: Reduction = "element_mean",
    objective: Objective = "nll",
) -> list[list[float]]:
    """Retrain every job's module for ``epochs`` epochs at once (module docstring); the
    modules receive their new weights; returns each copy's epoch losses.

    Raises:
        ValueError: the jobs differ in their number of windows.
    """
    if len({len(job.starts) for job in jobs}) != 1:
        raise ValueError("batched retraining needs the same number of windows in every copy")
    modules = [job.module for job in jobs]
    template = copy.deepcopy(modules[0])
    template.train()
    params, buffers = stack_module_state(modules)
    device = next(iter(params.values())).device
    optimizer = torch.optim.Adam(
        params.values(), lr=lr, weight_decay=weight_decay, fused=device.type in ("cpu", "cuda")
    )
    dropouts = [torch.Generator().manual_seed(job.dropout_seed) for job in jobs]
    calls: dict[tuple[int, ...], list[tuple[tuple[int, ...], float, torch.dtype]]] = {}

    def loss(
        p: dict[str, Tensor],
        b: dict[str, Tensor],
        x: Tensor,
        y_hist: Tensor,
        target: Tensor,
        scales: list[Tensor],
    ) -> Tensor:
        fed = iter(scales)
        with scales_from(lambda shape, prob, dtype: next(fed)):
            law = template.distribution(functional_call(template, p | b, (x, y_hist)))
        return objective_loss(law, target, objective)

    batched_loss = vmap(loss)
    history: list[list[float]] = [[] for _ in jobs]
    for _ in range(epochs):
        chunks = [minibatches(job.starts, batch_size, job.generator) for job in jobs]
        sizes = [len(chunk) for chunk in chunks[0]]
        step_losses: list[Tensor] = []
        for step in range(len(sizes)):
            batches = [
                job.series.batch(chunk[step], window)
                for job, chunk in zip(jobs, chunks, strict=True)
            ]
            x, y_hist, target = (torch.stack(parts) for parts in zip(*batches, strict=True))
            if tuple(x.shape) not in calls:
                calls[tuple(x.shape)] = _dropout_calls(template, params, buffers, x, y_hist)
            scales = _scales(calls[tuple(x.shape)], dropouts, device)
            optimizer.zero_grad(set_to_none=True)
            losses = batched_loss(params, buffers, x, y_hist, target, scales)  # (K,)
            losses.sum().backward()
            if grad_clip is not None:
                _clip_per_copy([p.grad for p in params.values() if p.grad is not None], grad_clip)
            optimizer.step()
            step_losses.append(losses.detach())
        per_copy = torch.stack(step_losses, dim=1).tolist()  # (K, steps)
        for k, values in enumerate(per_copy):
            history[k].append(reduce_losses(values, sizes, reduction))
    with torch.no_grad():
        for k, module in enumerate(modules):
            for name, value in module.named_parameters():
                value.copy_(params[name][k])
            for name, value in module.named_buffers():
                value.copy_(buffers[name][k])
    return history
