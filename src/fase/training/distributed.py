"""Data-parallel training across processes: PyTorch DDP, launched by ``torchrun``.

Under ``torchrun`` every process (rank r of R) runs the same training with the same seed.
:func:`fase.training.fit` notices an initialised process group (:func:`current_sharding`)
and then

* draws the same window permutation from the seeded generator on every rank, cuts it
  into the same global minibatches of b windows as a serial run, and gives rank r the
  r-th contiguous part of each (:meth:`Sharding.shard`: ⌈b/R⌉ or ⌊b/R⌋ windows);
* scales rank r's mean loss L_r over its n_r windows by R·n_r/n before ``backward``
  (:meth:`Sharding.loss_scale`). DDP averages the gradients over the R ranks, so every
  rank steps with (1/R) Σ_r R·(n_r/n)·∇L_r = Σ_r (n_r/n)·∇L_r, the gradient of the
  global minibatch mean — exactly the serial gradient, also for an unequal last batch.
  A rank whose part is empty (a last batch of fewer than R windows) runs one window
  with weight 0, so that every rank joins every gradient all-reduce;
* clips the global gradient norm after the all-reduce and steps Adam identically on
  every rank, so the weights stay identical without further communication;
* sums the ranks' per-minibatch loss sums (one all-reduce per pass), so the logged and
  validation losses, the scheduler, early stopping and ``best.pt`` follow the global
  losses exactly as in a serial run;
* writes ``checkpoints/`` and ``training_log.csv`` on rank 0 only; a resume loads
  ``last.pt`` on rank 0 and broadcasts it, so every rank restores the same state.

Dropout: rank 0 keeps the caller's seeded global RNG (as a serial run); rank r > 0
reseeds it with :func:`rank_seed`, so the ranks draw different masks. Every rank's RNG
state is saved in ``last.pt``. With dropout off, R processes reach the weights of one
process with the same global batch up to float rounding (tested to 1e-5).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from fase.errors import FaseInputError

DEVICES = ("cpu", "cuda", "auto")
CPU = torch.device("cpu")
TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """The torch device for ``name`` (``cpu``, ``cuda`` or ``auto``: cuda when available);
    with cuda, GPU ``local_rank`` (one GPU per process on a machine)."""
    if name not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {name!r}")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise FaseInputError("--device", "cuda was asked for but torch sees no GPU", "use cpu")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return CPU


def backend_for(device: torch.device) -> str:
    """The collective backend: NCCL between GPUs, gloo between CPU processes."""
    return "nccl" if device.type == "cuda" else "gloo"


@dataclass(frozen=True)
class Sharding:
    """This process's place among ``world_size`` data-parallel ranks (see the module
    docstring). ``local_rank`` picks the GPU on a machine; ``collective_device`` is where
    collective tensors live (cpu for gloo, the rank's GPU for NCCL)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    collective_device: torch.device = CPU

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes checkpoints, logs and progress."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def shard(self, chunk: np.ndarray) -> np.ndarray:
        """This rank's contiguous part of a global minibatch (B,); empty when B < R."""
        return np.array_split(chunk, self.world_size)[self.rank]

    def loss_scale(self, local: int, total: int) -> float:
        """R·n_r/n: the factor on this rank's mean loss over ``local`` = n_r of the
        ``total`` = n windows that makes DDP's gradient average the global mean's gradient."""
        return self.world_size * local / total

    def batch_means(
        self, local_means: Sequence[float], local_sizes: Sequence[int], sizes: Sequence[int]
    ) -> list[float]:
        """Global minibatch means Σ_r n_r·L_r / n from this rank's means L_r over n_r
        windows (one all-reduce in float64); serial: ``local_means`` unchanged."""
        if not self.distributed:
            return list(local_means)
        sums = torch.tensor(
            [m * n for m, n in zip(local_means, local_sizes, strict=True)],
            dtype=torch.float64,
            device=self.collective_device,
        )
        dist.all_reduce(sums)
        return [float(s) / n for s, n in zip(sums.tolist(), sizes, strict=True)]

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank (pickled; small objects such as checkpoints)."""
        if not self.distributed:
            return obj
        box = [obj if self.is_main else None]
        dist.broadcast_object_list(box, src=0, device=self.collective_device)
        return box[0]

    def on_main(self, compute: Callable[[], Any]) -> Any:
        """``compute()`` run on rank 0, its result on every rank; a
        :class:`FaseInputError` it raises is raised on every rank (no rank is left waiting)."""
        if not self.distributed:
            return compute()
        outcome: tuple[Any, ...] | None = None
        if self.is_main:
            try:
                outcome = ("value", compute())
            except FaseInputError as error:
                outcome = ("error", error.source, error.problem, error.hint)
        outcome = self.broadcast(outcome)
        if outcome[0] == "error":
            raise FaseInputError(*outcome[1:])
        return outcome[1]

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's ``obj``, in rank order, on every rank."""
        if not self.distributed:
            return [obj]
        boxes: list[Any] = [None] * self.world_size
        dist.all_gather_object(boxes, obj)
        return boxes


SERIAL = Sharding()


def current_sharding() -> Sharding:
    """The :class:`Sharding` of the initialised process group, :data:`SERIAL` without one."""
    if not (dist.is_available() and dist.is_initialized()):
        return SERIAL
    rank = dist.get_rank()
    collective = CPU
    if dist.get_backend() == "nccl":
        collective = torch.device("cuda", torch.cuda.current_device())
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    return Sharding(rank, dist.get_world_size(), local_rank, collective)


def launched_by_torchrun() -> bool:
    """Whether this process is a worker that ``torchrun`` started (its env:// variables set)."""
    return all(name in os.environ for name in TORCHRUN_ENV)


def init_from_env(device: str) -> Sharding:
    """Join the process group ``torchrun`` prepared (env:// rendezvous): NCCL when
    ``device`` resolves to a GPU (this rank's ``LOCAL_RANK``), gloo otherwise."""
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    resolved = resolve_device(device, local_rank)
    if resolved.type == "cuda":
        torch.cuda.set_device(resolved)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend_for(resolved))
    return current_sharding()


def shutdown() -> None:
    """Leave the process group (end of a torchrun worker)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def torchrun_command(nproc: int, arguments: Sequence[str]) -> list[str]:
    """The command that runs ``fase <arguments>`` in ``nproc`` processes on this machine
    (``torchrun --standalone``: rendezvous on a free local port)."""
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nnodes=1",
        f"--nproc-per-node={nproc}",
        "--no-python",
        sys.executable,
        "-c",
        "from fase.cli import main; main()",
        *arguments,
    ]


def wrap(model: nn.Module, device: torch.device, sharding: Sharding) -> nn.Module:
    """``model`` in DDP when training across ranks (it broadcasts rank 0's weights and
    all-reduces gradients during ``backward``), else ``model`` itself.

    ``static_graph``: every step uses the same parameters, found in the first step, so a
    parameter no output depends on (FASE's last residual projection, as in Graph
    WaveNet) needs no per-step search for unused parameters.
    """
    if not sharding.distributed:
        return model
    device_ids = [device] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids, static_graph=True)


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside a DDP wrapper (its ``distribution``, ``history_steps``, weights)."""
    return model.module if isinstance(model, DistributedDataParallel) else model


def rank_seed(seed: int, rank: int) -> int:
    """The global RNG seed of rank ``rank`` > 0 (dropout): a hash of (seed, rank)."""
    return int(np.random.SeedSequence([seed, rank]).generate_state(1, np.uint64)[0] >> 1)


def rng_states(device: torch.device) -> dict[str, Tensor]:
    """This process's global RNG states: ``cpu``, and ``cuda`` for a GPU device."""
    states = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state(device)
    return states


def set_rng_states(states: dict[str, Tensor], device: torch.device) -> None:
    """Restore what :func:`rng_states` returned (the cuda state only on a GPU device)."""
    torch.set_rng_state(states["cpu"])
    if device.type == "cuda" and "cuda" in states:
        torch.cuda.set_rng_state(states["cuda"], device)


def broadcast_module_state(model: nn.Module, sharding: Sharding) -> None:
    """Copy rank 0's parameters and buffers of ``model`` into every rank's ``model``."""
    if sharding.distributed:
        for tensor in model.state_dict().values():
            dist.broadcast(tensor, src=0)
