"""The training engine: minibatch epochs, validation, plateau LR, early stopping,
checkpoints and exact resume.

Every pass (:func:`train_epoch`, :func:`evaluate_loss`, :func:`batch_loss`) lives in
:mod:`fase.training.passes` and is re-exported here; the loss of a minibatch and of an
epoch (``objective``, ``loss_reduction``) are defined there.

Determinism on CPU: the minibatch order comes from a ``torch.Generator`` seeded with the
run's seed; dropout draws from the global torch RNG, which the caller seeds before
building the model (:func:`fase.runtime.torch_seeded`). Both generator states are saved in
``last.pt`` every epoch, so a resumed run reproduces an uninterrupted one bit for bit
(with the same thread count).

Devices and processes: :func:`fit` trains on ``config.device`` (cpu, cuda or auto) and
hands the model back on the device it came on; batches go to the model's device. Under
``torchrun`` (an initialised process group) it trains data-parallel across the ranks
with the serial run's minibatches and gradients (:mod:`fase.training.distributed`).
``config.loader_workers`` > 0 gathers the batches in worker processes
(:mod:`fase.training.loading`).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from fase.config.training import TrainingConfig
from fase.errors import FaseInputError
from fase.rundir import RunDir
from fase.training.checkpoint import (
    TrainingState,
    load_checkpoint,
    save_checkpoint,
    state_from_payload,
    write_training_log,
)
from fase.training.distributed import (
    broadcast_module_state,
    current_sharding,
    rank_seed,
    resolve_device,
    rng_states,
    set_rng_states,
    wrap,
)
from fase.training.loading import make_loader
from fase.training.passes import (
    Loader,
    Objective,
    Reduction,
    batch_loss,
    evaluate_loss,
    model_device,
    train_epoch,
    train_epochs,
)
from fase.training.windows import CountSeries, SplitWindows

__all__ = [
    "EpochCallback",
    "FitResult",
    "Loader",
    "Objective",
    "Reduction",
    "batch_loss",
    "evaluate_loss",
    "fit",
    "train_epoch",
    "train_epochs",
]

EpochCallback = Callable[[TrainingState], None]


@dataclass(frozen=True)
class FitResult:
    """Outcome of :func:`fit`; the model holds the ``scored_checkpoint`` weights."""

    state: TrainingState
    scored_checkpoint: Literal["best", "last"]
    scored_epoch: int
    test_loss: float | None

    @property
    def seconds_per_epoch(self) -> float:
        """Mean wall time of the logged epochs (s), NaN when none ran."""
        seconds = [row["seconds"] for row in self.state.log]
        return float(np.mean(seconds)) if seconds else math.nan


FREE_SETTINGS = {"epochs", "threads", "device", "loader_workers"}


def _fingerprint(
    config: TrainingConfig, seed: int, windows: SplitWindows, model: nn.Module
) -> dict[str, Any]:
    """What must match for a resume to be exact (``epochs`` may grow; threads, device,
    loader workers and the number of processes are free)."""
    settings = config.model_dump(mode="json", exclude=FREE_SETTINGS)
    return {
        "config": repr(sorted(settings.items())),
        "seed": seed,
        "windows": [len(windows.train), len(windows.val)],
        "parameters": sum(p.numel() for p in model.parameters()),
    }


class _Run:
    """One fit: its placement (device, ranks), optimizer, scheduler, minibatch generator,
    batch loader and files. Every method runs on every rank."""

    def __init__(
        self,
        model: nn.Module,
        series: CountSeries,
        windows: SplitWindows,
        config: TrainingConfig,
        seed: int,
        run_dir: RunDir,
    ) -> None:
        self.series, self.windows, self.config, self.run_dir = series, windows, config, run_dir
        self.sharding = current_sharding()
        self.device = resolve_device(config.device, self.sharding.local_rank)
        self.fingerprint = _fingerprint(config, seed, windows, model)
        self.model = model.to(self.device)
        self.trained = wrap(model, self.device, self.sharding)  # DDP across ranks
        self.optimizer = torch.optim.Adam(  # fused: one kernel for all parameters (~4× faster)
            model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=True
        )
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer,
            mode="min",
            factor=config.plateau_factor,
            patience=config.plateau_patience,
            min_lr=config.min_lr,
        )
        self.generator = torch.Generator().manual_seed(seed)
        if self.sharding.rank > 0:  # rank 0 keeps the caller's seeded stream, as serial
            torch.manual_seed(rank_seed(seed, self.sharding.rank))
        self.loader = make_loader(series, config.window, self.device, config.loader_workers)
        self.pass_options: dict[str, Any] = {  # shared by the training and scoring passes
            "window": config.window,
            "batch_size": config.batch_size,
            "reduction": config.loss_reduction,
            "objective": config.objective,
            "sharding": self.sharding,
            "loader": self.loader,
        }

    @property
    def last_path(self) -> Path:
        return self.run_dir.last_checkpoint

    @property
    def best_path(self) -> Path:
        return self.run_dir.best_checkpoint

    def payload(self, state: TrainingState) -> dict[str, Any]:
        """``last.pt``'s content, with every rank's RNG states (gathered from all ranks)."""
        rank_rng = self.sharding.gather(rng_states(self.device))
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "generator": self.generator.get_state(),
            "rng": rank_rng[0]["cpu"],
            "rank_rng": rank_rng,
            "fingerprint": self.fingerprint,
            "state": asdict(state),
        }

    def restore(self) -> TrainingState:
        """``last.pt`` read on rank 0 and broadcast: every rank restores the same model,
        optimizer, scheduler and generator, and its own RNG states (a rank the
        checkpoint has none for keeps its seeded stream)."""
        payload = self.sharding.on_main(lambda: load_checkpoint(self.last_path))
        if payload.get("fingerprint") != self.fingerprint:
            raise FaseInputError(
                self.last_path,
                "was written with another training configuration, seed, data or model",
                "resume with the run's own config.yaml, or start a new run",
            )
        self.model.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        self.generator.set_state(payload["generator"])
        rank_rng = payload.get("rank_rng", [{"cpu": payload["rng"]}])
        if self.sharding.rank < len(rank_rng):
            set_rng_states(rank_rng[self.sharding.rank], self.device)
        return state_from_payload(payload)

    def loss(self, starts: np.ndarray) -> float:
        """Evaluation loss over the windows ``starts`` (sharded across ranks)."""
        return evaluate_loss(self.trained, self.series, starts, **self.pass_options)

    def epoch(self, state: TrainingState) -> None:
        """Train one epoch, validate, step the scheduler, update ``state`` and the files."""
        config, main = self.config, self.sharding.is_main
        started = time.perf_counter()
        train_loss = train_epoch(
            self.trained,
            self.series,
            self.windows.train,
            self.optimizer,
            generator=self.generator,
            grad_clip=config.grad_clip,
            **self.pass_options,
        )
        val_loss = self.loss(self.windows.val)
        self.scheduler.step(val_loss)
        lr = float(self.optimizer.param_groups[0]["lr"])
        state.epoch += 1
        if val_loss < state.best_val_loss:
            state.best_epoch, state.best_val_loss, state.bad_epochs = state.epoch, val_loss, 0
            if main:
                weights = {"model": self.model.state_dict(), "epoch": state.epoch}
                save_checkpoint(self.best_path, weights | {"val_loss": val_loss})
        else:
            state.bad_epochs += 1
        patience = config.early_stopping_patience
        state.stopped = patience is not None and state.bad_epochs >= patience
        seconds = time.perf_counter() - started
        row = {"epoch": state.epoch, "train_loss": train_loss, "val_loss": val_loss, "lr": lr}
        state.log.append(row | {"seconds": seconds})
        payload = self.payload(state)
        if main:
            save_checkpoint(self.last_path, payload)
            write_training_log(self.run_dir.training_log, state.log)

    def score(self, state: TrainingState) -> FitResult:
        """Load the ``test_checkpoint`` weights (rank 0 reads ``best.pt`` and broadcasts
        them) and score the test windows."""
        if state.best_epoch == 0:
            raise FaseInputError(
                "training", "the validation loss was never finite", "try a lower training.lr"
            )
        scored_epoch = state.epoch
        if self.config.test_checkpoint == "best":
            if self.sharding.is_main:
                self.model.load_state_dict(load_checkpoint(self.best_path)["model"])
            broadcast_module_state(self.model, self.sharding)
            scored_epoch = state.best_epoch
        test = self.windows.test
        test_loss = self.loss(test) if test is not None and len(test) else None
        return FitResult(state, self.config.test_checkpoint, scored_epoch, test_loss)


def fit(
    model: nn.Module,
    series: CountSeries,
    windows: SplitWindows,
    config: TrainingConfig,
    *,
    seed: int,
    out_dir: str | Path,
    resume: bool = False,
    progress: bool | None = None,
    on_epoch_end: EpochCallback | None = None,
) -> FitResult:
    """Train ``model`` (a :class:`CountNetwork` module) on the windows of ``series``.

    Per epoch: :func:`train_epoch` on ``windows.train`` (order from a generator seeded
    with ``seed``), validation loss on ``windows.val``, ReduceLROnPlateau step on it,
    ``best.pt`` when it strictly improves, early stopping after
    ``config.early_stopping_patience`` epochs without improvement (None: never), then
    ``last.pt``, ``training_log.csv`` and ``on_epoch_end(state)``. After training the
    model is left with the ``config.test_checkpoint`` weights (best or last), which score
    ``windows.test`` if given.

    Trains on ``config.device`` and returns the model on the device it came on. In an
    initialised process group (``torchrun``) every rank calls ``fit`` alike: training
    is data-parallel, rank 0 alone writes the files and shows progress, and
    ``on_epoch_end`` runs on every rank (see :mod:`fase.training.distributed`).

    Args:
        out_dir: the run directory; writes ``checkpoints/`` and ``training_log.csv``.
        resume: continue from ``checkpoints/last.pt``, which must match; a run stopped
            before its first epoch ended (no ``last.pt``, no training log) starts from
            epoch 1 (the same run, from its seed).
        progress: show a tqdm bar (True), nothing (False), or by default a bar when stderr
            is a terminal and one plain line per epoch when it is not (a pipe, a log file,
            CI), so that piped output still shows progress.
    """
    if len(windows.train) == 0 or len(windows.val) == 0:
        raise FaseInputError(
            "training.window",
            f"no {'training' if len(windows.train) == 0 else 'validation'} window of "
            f"{config.window} bins fits in its split",
            "use a shorter training.window or a longer dataset",
        )
    home = model_device(model)
    run = _Run(model, series, windows, config, seed, RunDir(out_dir))
    try:
        unstarted = not (run.last_path.is_file() or run.run_dir.training_log.is_file())
        if resume and unstarted and run.sharding.is_main:
            print("resume: no checkpoint yet (stopped in the first epoch): training from epoch 1",
                  file=sys.stderr)  # fmt: skip
        state = run.restore() if resume and not unstarted else TrainingState()
        show = sys.stderr.isatty() if progress is None else progress
        bar = tqdm(
            total=config.epochs,
            initial=state.epoch,
            desc="training",
            unit="epoch",
            disable=not (show and run.sharding.is_main),
            file=sys.stderr,
        )
        plain = progress is None and not sys.stderr.isatty() and run.sharding.is_main
        with bar:
            while state.epoch < config.epochs and not state.stopped:
                run.epoch(state)
                row = state.log[-1]
                bar.update(1)
                if plain:
                    print(
                        f"training epoch {state.epoch}/{config.epochs}: train "
                        f"{row['train_loss']:.4f}, val {row['val_loss']:.4f}, lr {row['lr']:.1e}",
                        file=sys.stderr,
                        flush=True,
                    )
                bar.set_postfix(
                    train=f"{row['train_loss']:.4f}",
                    val=f"{row['val_loss']:.4f}",
                    lr=f"{row['lr']:.1e}",
                )
                if on_epoch_end is not None:
                    on_epoch_end(state)
        return run.score(state)
    finally:
        run.loader.close()
        model.to(home)
