"""Minibatch sources: windows gathered in the training process or by loader workers.

A pass over windows is a list of chunks, arrays (B,) of window starts; a loader yields
each chunk's :class:`~fase.training.windows.WindowBatch` on the training device, in
order. Gathering is deterministic, so both loaders yield identical batches and the
choice changes speed only:

* :class:`InProcessLoader` (``training.loader_workers: 0``, the default):
  :meth:`CountSeries.batch` in the training process — two index operations on tensors
  already in memory (≈ 1 ms for a paper-sized minibatch), then a copy to the device.
* :class:`WorkerLoader` (``loader_workers`` ≥ 1): a ``torch.utils.data.DataLoader``
  whose worker processes gather whole minibatches (one chunk per fetch, two fetched
  ahead per worker), with persistent workers (started once per fit, not per epoch) and
  pinned memory when the device is a GPU (asynchronous host-to-device copies).

The default is measured (``benchmarks/parallel.py``, ``docs/parallel.md``): for series
this small the workers' inter-process hand-off costs more than the gathering it hides.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from fase.training.windows import CountSeries, WindowBatch

PREFETCH_PER_WORKER = 2


def to_device(batch: WindowBatch, device: torch.device, non_blocking: bool = False) -> WindowBatch:
    """``batch`` with every tensor on ``device`` (the same tensors when already there)."""
    return WindowBatch(*(t.to(device, non_blocking=non_blocking) for t in batch))


class InProcessLoader:
    """Gathers each chunk's windows of length ``window`` from ``series`` on demand."""

    def __init__(self, series: CountSeries, window: int, device: torch.device) -> None:
        self.series, self.window, self.device = series, window, device

    def batches(self, chunks: Sequence[np.ndarray]) -> Iterator[WindowBatch]:
        for chunk in chunks:
            yield to_device(self.series.batch(chunk, self.window), self.device)

    def close(self) -> None:
        """Nothing to release (the same interface as :class:`WorkerLoader`)."""


class _ChunkGatherer(Dataset[WindowBatch]):
    """Map-style dataset whose index is a chunk (array of window starts), item its batch."""

    def __init__(self, series: CountSeries, window: int) -> None:
        self.series, self.window = series, window

    def __getitem__(self, chunk: np.ndarray) -> WindowBatch:  # type: ignore[override]
        return self.series.batch(chunk, self.window)


class _PassSampler(Sampler[np.ndarray]):
    """Yields the chunks of the current pass (set before each pass)."""

    def __init__(self) -> None:
        self.chunks: Sequence[np.ndarray] = []

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self.chunks)

    def __len__(self) -> int:
        return len(self.chunks)


class WorkerLoader:
    """``workers`` persistent DataLoader processes gather the chunks of each pass.

    Args:
        series: the series (shared with the forked workers, not copied).
        window: W, bins per window.
        device: the training device; batches are pinned and copied asynchronously
            when it is a GPU.
        workers: worker processes (≥ 1); each runs torch with one thread.
    """

    def __init__(
        self, series: CountSeries, window: int, device: torch.device, workers: int
    ) -> None:
        if workers < 1:
            raise ValueError(f"a WorkerLoader needs at least one worker, got {workers}")
        self.device = device
        self._pin = device.type == "cuda"
        self._sampler = _PassSampler()
        self._loader: DataLoader[WindowBatch] | None = DataLoader(
            _ChunkGatherer(series, window),
            sampler=self._sampler,
            batch_size=None,
            num_workers=workers,
            pin_memory=self._pin,
            persistent_workers=True,
            prefetch_factor=PREFETCH_PER_WORKER,
            # its own generator: the loader's per-pass seed draw leaves the global RNG
            # (dropout) alone, so training is bitwise the same with and without workers
            generator=torch.Generator().manual_seed(0),
        )

    def batches(self, chunks: Sequence[np.ndarray]) -> Iterator[WindowBatch]:
        if self._loader is None:
            raise RuntimeError("the loader was closed")
        self._sampler.chunks = list(chunks)
        for batch in self._loader:
            yield to_device(batch, self.device, non_blocking=self._pin)

    def close(self) -> None:
        """Stop the worker processes (dropping the loader shuts them down)."""
        self._loader = None


def make_loader(
    series: CountSeries, window: int, device: torch.device, workers: int = 0
) -> InProcessLoader | WorkerLoader:
    """:class:`InProcessLoader` for ``workers`` = 0, else a :class:`WorkerLoader`."""
    if workers == 0:
        return InProcessLoader(series, window, device)
    return WorkerLoader(series, window, device, workers)
