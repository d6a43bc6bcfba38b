"""Training windows over the whole series, gathered in-process from tensors in memory.

A window starting at bin s covers bins [s, s + W). Its sample is

    x       = features of bins [s, s + W)                              (N, W, F)
    y_hist  = counts of bins [s − P, s + W), zero for bins before 0    (N, P + W)
    target  = counts of bins [s, s + W)                                (N, W)
              or, with per-type targets, counts per crime type         (N, W, K)

with P the model's ``history_steps``. The history is always the total count; a model
forecasting K crime types jointly reads the total's history and is scored on the types.
The history may reach back into an earlier split (the validation windows' history comes
from the training period): those counts are observed before the window, so using them
is not leakage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from fase.config.training import TrainingConfig
from fase.errors import FaseInputError


def window_starts(start: int, end: int, window: int, stride: int) -> np.ndarray:
    """Starts s = start, start + stride, … of the windows [s, s + W) inside [start, end).

    A tail shorter than a window is dropped (the reference: 18,396 training bins with
    W = stride = 32 give 574 windows). Returns (K,) int64, possibly empty.
    """
    if window < 1 or stride < 1:
        raise ValueError(f"window and stride must be positive, got {window} and {stride}")
    return np.arange(start, end - window + 1, stride, dtype=np.int64)


@dataclass(frozen=True)
class SplitWindows:
    """Window starts (K,) int64 of each split; ``test`` None: not scored by ``fit``."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray | None = None


def split_windows(split: dict[str, tuple[int, int]], config: TrainingConfig) -> SplitWindows:
    """Window starts of each split: ``config.window`` bins every ``config.stride`` bins."""
    train, val, test = (
        window_starts(*split[name], config.window, config.stride)
        for name in ("train", "val", "test")
    )
    return SplitWindows(train, val, test)


class WindowBatch(NamedTuple):
    """One minibatch of B windows: x (B, N, W, F), y_hist (B, N, P + W), target (B, N, W)
    or (B, N, W, K) per crime type."""

    x: Tensor
    y_hist: Tensor
    target: Tensor


class CountSeries:
    """A multivariate count series and its features, ready for window gathering.

    Args:
        x: (N, T, F) model inputs (already scaled), any float dtype; stored as float32.
        y: (N, T) counts (integers, or fractional observed counts in the simulator);
            used both as targets and as the count history; stored as float32.
        history_steps: P, bins of counts before each window passed in ``y_hist``.
        targets: (N, T, K) counts per crime type, the targets instead of ``y`` (None:
            the targets are ``y``).
    """

    def __init__(
        self,
        x: np.ndarray | Tensor,
        y: np.ndarray | Tensor,
        history_steps: int,
        targets: np.ndarray | Tensor | None = None,
    ) -> None:
        x = torch.as_tensor(x, dtype=torch.float32)
        y = torch.as_tensor(y, dtype=torch.float32)
        if x.ndim != 3 or y.ndim != 2 or x.shape[:2] != y.shape:
            raise FaseInputError(
                "tensors", f"need x (N, T, F) and y (N, T); got {tuple(x.shape)}, {tuple(y.shape)}"
            )
        if history_steps < 0:
            raise ValueError(f"history_steps must be ≥ 0, got {history_steps}")
        self.history_steps = history_steps
        self.num_nodes, self.num_steps, self.num_features = x.shape
        self._x = x.transpose(0, 1).contiguous()  # (T, N, F): a window is a slice of rows
        zeros = torch.zeros(history_steps, self.num_nodes)
        self._y = torch.cat([zeros, y.T]).contiguous()  # (P + T, N): row P + t is bin t
        self._targets: Tensor | None = None
        if targets is not None:
            targets = torch.as_tensor(targets, dtype=torch.float32)
            if targets.ndim != 3 or targets.shape[:2] != y.shape:
                raise FaseInputError(
                    "tensors", f"need per-type targets (N, T, K); got {tuple(targets.shape)}"
                )
            self._targets = targets.transpose(0, 1).contiguous()  # (T, N, K)

    @property
    def outputs(self) -> int:
        """K, the count channels of a target (1: the total)."""
        return 1 if self._targets is None else int(self._targets.shape[2])

    def to(self, device: torch.device | str) -> CountSeries:
        """Keep the tensors on ``device`` (windows are then gathered there); returns self."""
        self._x, self._y = self._x.to(device), self._y.to(device)
        if self._targets is not None:
            self._targets = self._targets.to(device)
        return self

    @property
    def layout(self) -> tuple[int, int, int, int, int]:
        """(T, N, F, P, K): the shapes of the stored tensors; series of one layout can
        :meth:`assign` each other."""
        return self.num_steps, self.num_nodes, self.num_features, self.history_steps, self.outputs

    def check(self, starts: np.ndarray | Tensor, window: int) -> None:
        """Raise IndexError unless every window [s, s + ``window``) lies inside the series."""
        starts = torch.as_tensor(starts, dtype=torch.int64)
        if starts.numel() and (
            int(starts.min()) < 0 or int(starts.max()) + window > self.num_steps
        ):
            raise IndexError(f"windows of {window} bins must lie inside [0, {self.num_steps})")

    def batch(self, starts: np.ndarray | Tensor, window: int) -> WindowBatch:
        """Gather the windows starting at ``starts`` (B,) with length ``window`` (W)."""
        starts = torch.as_tensor(starts, dtype=torch.int64)
        self.check(starts, window)
        return self.gather(starts, window)

    def gather(self, starts: Tensor, window: int) -> WindowBatch:
        """:meth:`batch` without the bounds check, which reads ``starts`` on the host: only
        index operations on ``starts``' device, so a CUDA graph can capture it.

        Args:
            starts: (B,) int64 window starts, already checked (:meth:`check`).
            window: W, bins per window.
        """
        steps = starts[:, None] + torch.arange(window, device=starts.device)  # (B, W) bins
        history = starts[:, None] + torch.arange(  # rows of _y
            self.history_steps + window, device=starts.device
        )
        x = self._x[steps].permute(0, 2, 1, 3).contiguous()  # (B, W, N, F) → (B, N, W, F)
        y_hist = self._y[history].transpose(1, 2).contiguous()  # (B, N, P + W)
        if self._targets is None:
            target = y_hist[..., self.history_steps :]
        else:
            target = self._targets[steps].transpose(1, 2).contiguous()  # (B, N, W, K)
        return WindowBatch(x, y_hist, target)

    def assign(self, other: CountSeries) -> None:
        """Copy ``other``'s values into this series' tensors in place (same :attr:`layout`),
        so that a captured step gathering from this series reads them.

        Raises:
            ValueError: the layouts differ.
        """
        if other.layout != self.layout or (other._targets is None) != (self._targets is None):
            raise ValueError(f"series layout {other.layout} differs from {self.layout}")
        self._x.copy_(other._x)
        self._y.copy_(other._y)
        if self._targets is not None:
            self._targets.copy_(other._targets)

    def span(self, begin: int, end: int) -> WindowBatch:
        """One sample covering bins [begin, end) (batch of 1), with P bins of history."""
        return self.batch(np.array([begin]), end - begin)
