"""Passes over windows: the minibatch loss, one training epoch and an evaluation pass,
serial or as one rank of a data-parallel group.

Loss of a minibatch (``objective``): the mean negative log-likelihood of the model's count
distribution over its B·N·W elements, L_b = −(1/|b|) Σ log p(y) (``nll``), or the mean
squared error of its expected count, L_b = (1/|b|) Σ (E[Y] − y)² (``mse``, as the model-zoo
study trains its DNN and LSTM). A pass's loss is either the element mean over all its
minibatches, Σ_b |b|·L_b / Σ_b |b| (``element_mean``), or the unweighted mean of the
minibatch means, (1/n_b) Σ_b L_b (``batch_mean``, the reference code, in which a smaller
last batch weighs as much as a full one).

As one rank of R (``sharding``, the model wrapped in DDP) a pass runs this rank's part of
every global minibatch and returns the global loss (see :mod:`fase.training.distributed`).
Batches come from a loader (:mod:`fase.training.loading`; default: gathered in-process
onto the model's device).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn

from fase.models.distributions import CountDistribution
from fase.models.protocol import CountNetwork
from fase.training.distributed import SERIAL, Sharding, unwrap
from fase.training.loading import InProcessLoader, WorkerLoader
from fase.training.windows import CountSeries, WindowBatch

Reduction = Literal["element_mean", "batch_mean"]
Objective = Literal["nll", "mse"]
Loader = InProcessLoader | WorkerLoader


def batch_loss(model: CountNetwork, batch: WindowBatch, objective: Objective = "nll") -> Tensor:
    """Mean loss of ``batch.target`` over its B·N·W elements (scalar): NLL or squared error.

    ``model`` may be wrapped in DDP (its forward all-reduces the gradients).
    """
    distribution = unwrap(model).distribution(model(batch.x, batch.y_hist))
    return objective_loss(distribution, batch.target, objective)


def objective_loss(
    distribution: CountDistribution, target: Tensor, objective: Objective = "nll"
) -> Tensor:
    """Mean NLL of ``target`` under ``distribution`` (``nll``), or mean squared error of
    its expected count (``mse``), over all elements (scalar)."""
    if objective == "mse":
        return (distribution.mean - target).square().mean()
    return -distribution.log_prob(target).mean()


def minibatches(
    starts: np.ndarray, batch_size: int, generator: torch.Generator | None
) -> list[np.ndarray]:
    """Window starts in minibatches of ``batch_size``: shuffled by ``generator``, or in order."""
    if generator is None:
        order = np.arange(len(starts))
    else:
        order = torch.randperm(len(starts), generator=generator).numpy()
    return [starts[order[i : i + batch_size]] for i in range(0, len(starts), batch_size)]


def reduce_losses(losses: list[float], sizes: list[int], reduction: Reduction) -> float:
    """An epoch's loss from minibatch means and sizes (see the module docstring)."""
    if reduction == "batch_mean":
        return math.fsum(losses) / len(losses)
    return math.fsum(loss * size for loss, size in zip(losses, sizes, strict=True)) / sum(sizes)


def model_device(model: nn.Module) -> torch.device:
    """Where ``model``'s parameters live (cpu for a model without any)."""
    return next(model.parameters(), torch.empty(0)).device


def _shards(chunks: list[np.ndarray], sharding: Sharding) -> tuple[list[np.ndarray], list[int]]:
    """Each global chunk's part for this rank, an empty part replaced by the chunk's
    first window (run with weight 0), and the true part sizes."""
    parts = [sharding.shard(chunk) for chunk in chunks]
    run = [part if len(part) else chunk[:1] for part, chunk in zip(parts, chunks, strict=True)]
    return run, [len(part) for part in parts]


def train_epoch(
    model: nn.Module,
    series: CountSeries,
    starts: np.ndarray,
    optimizer: torch.optim.Optimizer,
    *,
    window: int,
    batch_size: int,
    generator: torch.Generator,
    grad_clip: float | None,
    reduction: Reduction = "element_mean",
    objective: Objective = "nll",
    sharding: Sharding = SERIAL,
    loader: Loader | None = None,
) -> float:
    """One pass over the windows ``starts`` (K,) in shuffled minibatches; returns its loss.

    Each minibatch: zero grads, mean loss (``objective``), backward, clip the global
    gradient L2 norm to ``grad_clip`` (None: no clipping), optimizer step. Dropout is
    active (train mode). Across ranks (``sharding``, ``model`` in DDP) each rank runs
    its part of every minibatch with the loss scaled by R·n_r/n, so the averaged
    gradient and the returned loss are the serial ones. ``loader``: where the batches of
    ``series`` come from (default: gathered in-process onto the model's device).
    """
    model.train()
    chunks = minibatches(starts, batch_size, generator)
    parts, part_sizes = _shards(chunks, sharding)
    loader = loader or InProcessLoader(series, window, model_device(model))
    losses: list[Tensor] = []
    for chunk, size, batch in zip(chunks, part_sizes, loader.batches(parts), strict=True):
        optimizer.zero_grad(set_to_none=True)
        loss = batch_loss(model, batch, objective)
        scale = sharding.loss_scale(size, len(chunk))
        (loss if scale == 1.0 else loss * scale).backward()
        if grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        losses.append(loss.detach())
    local = torch.stack(losses).tolist() if losses else []
    sizes = [len(chunk) for chunk in chunks]
    return reduce_losses(sharding.batch_means(local, part_sizes, sizes), sizes, reduction)


def train_epochs(
    model: nn.Module,
    series: CountSeries,
    starts: np.ndarray,
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    window: int,
    batch_size: int,
    generator: torch.Generator,
    grad_clip: float | None,
    reduction: Reduction = "element_mean",
    objective: Objective = "nll",
    sharding: Sharding = SERIAL,
    loader: Loader | None = None,
) -> list[float]:
    """``epochs`` calls of :func:`train_epoch` (no validation, no scheduler); the epoch losses.

    The feedback simulator retrains on observed windows with it: build ``series`` from
    the observed counts, which then serve as both targets and Hawkes history.
    """
    return [
        train_epoch(
            model,
            series,
            starts,
            optimizer,
            window=window,
            batch_size=batch_size,
            generator=generator,
            grad_clip=grad_clip,
            reduction=reduction,
            objective=objective,
            sharding=sharding,
            loader=loader,
        )
        for _ in range(epochs)
    ]


@torch.no_grad()
def evaluate_loss(
    model: nn.Module,
    series: CountSeries,
    starts: np.ndarray,
    *,
    window: int,
    batch_size: int,
    reduction: Reduction = "element_mean",
    objective: Objective = "nll",
    sharding: Sharding = SERIAL,
    loader: Loader | None = None,
) -> float:
    """Loss over the windows ``starts`` in order, in eval mode (no dropout, no gradients).

    Across ranks each rank scores its part of every minibatch and the per-minibatch
    sums are all-reduced, so every rank returns the serial loss.
    """
    module = unwrap(model)
    module.eval()
    chunks = minibatches(starts, batch_size, None)
    parts = [sharding.shard(chunk) for chunk in chunks]
    loader = loader or InProcessLoader(series, window, model_device(module))
    scored = [
        batch_loss(module, batch, objective)
        for batch in loader.batches([part for part in parts if len(part)])
    ]
    values = iter(torch.stack(scored).tolist() if scored else [])
    means = [next(values) if len(part) else 0.0 for part in parts]
    sizes = [len(chunk) for chunk in chunks]
    means = sharding.batch_means(means, [len(p) for p in parts], sizes)
    return reduce_losses(means, sizes, reduction)
