"""A retraining step captured once as a CUDA graph and replayed, one launch per step.

A batch-of-one retraining step of the paper model (forward, loss, backward, clipping,
Adam) is a few hundred small kernels; on a GPU its time is the host's launch overhead,
not arithmetic (docs/simulation.md, Performance). :class:`CapturedStep` records the
whole step once into a ``torch.cuda.CUDAGraph`` and replays it for every minibatch:

* static device buffers: the series the windows are gathered from (a
  :class:`~fase.training.windows.CountSeries`, whose values each retraining replaces in
  place, :meth:`~fase.training.windows.CountSeries.assign`), the epoch's minibatch
  order (S, B) int64 (S minibatches of B window starts), a step counter (1,) int64 and
  the S minibatch losses;
* the step function reads row ``counter`` of the order, gathers those windows
  (:meth:`~fase.training.windows.CountSeries.gather`: index operations on the device),
  computes the loss (:func:`~fase.training.passes.batch_loss`), backward,
  ``clip_grad_norm_``, one fused Adam step (built ``capturable=True`` on a GPU), writes
  its loss at ``counter`` and advances the counter: no tensor is read on the host;
* a retraining (:meth:`CapturedStep.train_epochs`) draws the shuffles of all its epochs
  up front from the caller's generator — the draws :func:`~fase.training.train_epochs`
  makes, in the same order — and copies them to the device once; per epoch one order
  row and a counter reset, then S replays; the losses are read once, at the end;
* every retraining starts a fresh Adam, as the eager path does: the optimiser's state
  (step count, first and second moments) is zeroed in place.

The numbers are the eager step's: on a GPU :class:`~fase.models.layers.Dropout` draws
with ``F.dropout`` from the CUDA default generator, whose state a replay reads at launch
(offsets registered at capture), so a replay draws the masks an eager step would draw
from the same generator state; fused Adam runs the same kernel with ``capturable`` on
or off. Capture needs a few warm-up steps (on a side stream); they and the capture run
inside ``torch.random.fork_rng`` and the weights and Adam state are restored afterwards,
so preparing a step changes neither the model nor any random stream.

Elsewhere (CPU) the same object runs the same step function eagerly, without a graph:
it then equals :func:`~fase.training.train_epochs` bit for bit (tested), which covers
every part of the captured path but the capture itself.

Requirements: the batch size divides the number of windows (every minibatch has one
shape); the network's forward reads no tensor on the host (``.item()``, ``nonzero``, a
Python ``if`` on a tensor, a copy from host memory) — true of FASE. The warm-up runs
with CUDA's synchronisation check raising, so such a forward fails there, before the
capture, with :class:`CaptureError`, the model and the random streams left as they were.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from fase.training.passes import (
    Objective,
    Reduction,
    batch_loss,
    minibatches,
    model_device,
    reduce_losses,
)
from fase.training.windows import CountSeries

WARMUP_STEPS = 3  # eager steps on a side stream before the capture (PyTorch's advice)
_UNCAPTURED = "This instance was constructed with capturable=True"  # Adam's warm-up warning
_PROTOTYPE = "Synchronization debug mode is a prototype"  # torch's, once per process


def capture_supported(device: torch.device) -> bool:
    """Whether :class:`CapturedStep` records a CUDA graph on ``device`` (CUDA only); on
    other devices it runs its step eagerly."""
    return device.type == "cuda"


class CaptureError(RuntimeError):
    """The step could not be captured (its forward reads a tensor on the host)."""


@dataclass(frozen=True)
class StepSettings:
    """What a captured step is specialised to.

    Attributes:
        window: W, bins per window.
        batch_size: B, windows per minibatch.
        steps: S, minibatches per epoch (the retraining's window count / B).
        lr, weight_decay: Adam's (coupled L2, as ``torch.optim.Adam``).
        grad_clip: the global gradient-norm bound (None: no clipping).
        objective: ``nll`` or ``mse`` (:func:`~fase.training.passes.objective_loss`).
    """

    window: int
    batch_size: int
    steps: int
    lr: float
    weight_decay: float
    grad_clip: float | None
    objective: Objective = "nll"


class CapturedStep:
    """One retraining step of ``model`` over static buffers, captured on a GPU (module
    docstring). Building it prepares the step (warm-up and capture on a GPU, warm-up
    elsewhere) and leaves ``model``'s weights and the random streams unchanged.

    Args:
        model: the network (a :class:`~fase.models.CountNetwork`), trained in place.
        series: the static series the windows are gathered from, on the model's
            device; it becomes this step's buffer (later series are copied into it).
        settings: shapes and optimiser settings.
        warmup: eager steps before the capture.

    Raises:
        CaptureError: the step cannot be captured; nothing was changed.
    """

    def __init__(
        self,
        model: nn.Module,
        series: CountSeries,
        settings: StepSettings,
        warmup: int = WARMUP_STEPS,
    ) -> None:
        self.model, self.series, self.settings = model, series, settings
        self.device = model_device(model)
        self.parameters = list(model.parameters())
        self.optimizer = torch.optim.Adam(
            self.parameters,
            lr=settings.lr,
            weight_decay=settings.weight_decay,
            fused=self.device.type in ("cpu", "cuda"),
            capturable=capture_supported(self.device),
        )
        self.order = torch.zeros(
            (settings.steps, settings.batch_size), dtype=torch.int64, device=self.device
        )
        self.counter = torch.zeros(1, dtype=torch.int64, device=self.device)
        self.losses = torch.zeros(
            settings.steps, dtype=self.parameters[0].dtype, device=self.device
        )
        self.graph: torch.cuda.CUDAGraph | None = None
        self._prepare(warmup)

    def fits(self, model: nn.Module, series: CountSeries, settings: StepSettings) -> bool:
        """Whether this step can retrain ``model`` on ``series`` with ``settings``."""
        return (
            model is self.model
            and series.layout == self.series.layout
            and settings == self.settings
        )

    def train_epochs(
        self,
        series: CountSeries,
        starts: np.ndarray,
        *,
        epochs: int,
        generator: torch.Generator,
        reduction: Reduction = "element_mean",
    ) -> list[float]:
        """:func:`~fase.training.train_epochs` with a fresh Adam: ``epochs`` passes over
        the windows ``starts`` (S·B,) of ``series`` in minibatches shuffled by
        ``generator``, dropout on; the epoch losses.

        Raises:
            ValueError: ``starts`` is not S·B windows long.
            IndexError: a window leaves ``series``.
        """
        settings = self.settings
        if len(starts) != settings.steps * settings.batch_size:
            raise ValueError(
                f"this step takes {settings.steps} minibatches of {settings.batch_size} "
                f"windows, got {len(starts)} windows"
            )
        series.check(starts, settings.window)
        if epochs == 0:
            return []
        if series is not self.series:
            self.series.assign(series)
        self._fresh_optimizer()
        self.model.train()
        drawn = [
            np.stack(minibatches(starts, settings.batch_size, generator)) for _ in range(epochs)
        ]
        plan = torch.as_tensor(np.stack(drawn), dtype=torch.int64).to(self.device)  # (E, S, B)
        history = torch.empty((epochs, settings.steps), dtype=self.losses.dtype, device=self.device)
        for epoch in range(epochs):
            self.order.copy_(plan[epoch])
            self.counter.zero_()
            for _ in range(settings.steps):
                if self.graph is None:
                    self._step()
                else:
                    self.graph.replay()
            history[epoch].copy_(self.losses)
        sizes = [settings.batch_size] * settings.steps
        return [reduce_losses(row, sizes, reduction) for row in history.tolist()]

    def _step(self) -> None:
        """The step function: minibatch ``counter`` of the order, loss, backward,
        clipping, Adam; its loss into ``losses[counter]``; ``counter`` + 1."""
        settings = self.settings
        self.optimizer.zero_grad(set_to_none=True)  # the capture's backward allocates them
        starts = self.order.index_select(0, self.counter).view(-1)  # (B,)
        loss = batch_loss(
            self.model, self.series.gather(starts, settings.window), settings.objective
        )
        loss.backward()
        if settings.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.parameters, settings.grad_clip)
        self.optimizer.step()
        self.losses.index_copy_(0, self.counter, loss.detach().view(1))
        self.counter.add_(1)

    def _prepare(self, warmup: int) -> None:
        """Warm-up steps (which create Adam's state) and, on a GPU, the capture; then the
        weights, the Adam state and the random streams as they were."""
        saved = [p.detach().clone() for p in self.parameters]
        self.model.train()
        cuda = capture_supported(self.device)
        devices = [self.device.index or 0] if cuda else []
        try:
            with torch.random.fork_rng(devices=devices), warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=_UNCAPTURED)
                warnings.filterwarnings("ignore", message=_PROTOTYPE)
                if cuda:
                    self.graph = self._capture(warmup)
                else:
                    self._warm_up(warmup)
        except RuntimeError as exc:
            raise CaptureError(f"the retraining step cannot be captured: {exc}") from exc
        finally:
            self._restore(saved)

    def _warm_up(self, steps: int) -> None:
        """``steps`` eager steps on minibatch 0 of the order."""
        for _ in range(steps):
            self.counter.zero_()
            self._step()

    def _capture(self, warmup: int) -> torch.cuda.CUDAGraph:
        """Warm up on a side stream (PyTorch's recipe), then capture one step.

        The warm-up runs with CUDA's synchronisation check set to ``error``: a step that
        reads a tensor on the host fails there, before any capture begins. (A capture
        that fails midway leaves the CUDA generator marked as capturing, and every later
        dropout on the device then fails.)
        """
        current = torch.cuda.current_stream(self.device)
        side = torch.cuda.Stream(self.device)
        side.wait_stream(current)
        checking = torch.cuda.get_sync_debug_mode()
        torch.cuda.set_sync_debug_mode("error")
        try:
            with torch.cuda.stream(side):
                self._warm_up(warmup)
        finally:
            torch.cuda.set_sync_debug_mode(checking)
        current.wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.stream(current), torch.cuda.graph(graph):  # the outer context puts
            self._step()  # the current stream back even where a failed capture does not
        return graph

    @torch.no_grad()
    def _restore(self, saved: list[Tensor]) -> None:
        """The weights ``saved`` back in place, and a fresh Adam."""
        for parameter, value in zip(self.parameters, saved, strict=True):
            parameter.copy_(value)
        self._fresh_optimizer()

    @torch.no_grad()
    def _fresh_optimizer(self) -> None:
        """Adam's state zeroed in place (step count and moments): a fresh Adam whose
        tensors the graph keeps reading."""
        for state in self.optimizer.state.values():
            for value in state.values():
                value.zero_()
