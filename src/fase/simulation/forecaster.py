"""The simulator's view of a forecasting model, and its adapter for torch models.

The simulator never touches torch: it sends a :class:`ForecastRequest` (features and
the count record the model may see, with absolute bin indices) and gets a
:class:`Forecast`; it sends a :class:`TrainingRequest` (windows of observed counts)
and gets the epoch losses. :class:`TorchForecaster` implements both with the training
engine (:func:`fase.training.train_epochs`, :func:`fase.training.forecast_span`), so
training, loss and full-sequence forecasting are defined once, there. Tests use stubs.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from torch import nn

from fase.training.engine import train_epochs
from fase.training.forecast import forecast_span
from fase.training.windows import CountSeries


@dataclass(frozen=True)
class ForecastRequest:
    """Forecast bins [start, stop) one step ahead.

    Attributes:
        offset: absolute bin of column 0 of ``x`` and ``counts``.
        x: (N, stop − offset, F) float32 scaled features.
        counts: (N, stop − offset) count record (history; inside [start, stop) it is
            read causally: bin t's forecast uses counts up to t − 1 only).
        start, stop: the bins to forecast, offset ≤ start < stop.
        warmup: bins of context before ``start`` the model needs (its receptive field −
            1, Hawkes memory); ``offset = start − warmup − history`` clipped at 0.
    """

    offset: int
    x: np.ndarray
    counts: np.ndarray
    start: int
    stop: int
    warmup: int


@dataclass(frozen=True)
class Forecast:
    """Predictive distribution of L bins × N areas.

    Attributes:
        mu: (L, N) float64 NB mean μ (the paper allocates on it).
        expected: (L, N) float64 expected count E[Y] ((1 − π)·μ for ZINB).
        log_prob: maps counts (L, N) to log p(counts) (L, N) float64 (non-integer counts
            go through the continuous extension of y!).
    """

    mu: np.ndarray
    expected: np.ndarray
    log_prob: Callable[[np.ndarray], np.ndarray]

    def rows(self, lo: int, hi: int) -> Forecast:
        """The forecast of rows [lo, hi) only."""
        n = self.mu.shape[0]

        def log_prob(counts: np.ndarray) -> np.ndarray:
            full = np.zeros((n, *np.shape(counts)[1:]))
            full[lo:hi] = counts
            return self.log_prob(full)[lo:hi]

        return Forecast(self.mu[lo:hi], self.expected[lo:hi], log_prob)

    @staticmethod
    def concat(pieces: list[Forecast]) -> Forecast:
        """Consecutive row blocks stacked into one forecast."""
        edges = np.cumsum([0, *(p.mu.shape[0] for p in pieces)])

        def log_prob(counts: np.ndarray) -> np.ndarray:
            parts = zip(pieces, edges[:-1], edges[1:], strict=True)
            return np.concatenate([p.log_prob(counts[a:b]) for p, a, b in parts])

        mu = np.concatenate([p.mu for p in pieces])
        expected = np.concatenate([p.expected for p in pieces])
        return Forecast(mu, expected, log_prob)


@dataclass(frozen=True)
class TrainingRequest:
    """Fine-tune on windows [s, s + W) for s in ``starts`` (absolute bins).

    Attributes:
        offset: absolute bin of column 0 of ``x`` and ``counts`` (bins before a window
            serve as its count history).
        x: (N, T', F) float32 scaled features.
        counts: (N, T') counts: the targets and the count history.
        starts: (K,) int64 absolute window starts, each window inside the arrays.
        window, epochs, batch_size: W, epochs, windows per optimiser step.
    """

    offset: int
    x: np.ndarray
    counts: np.ndarray
    starts: np.ndarray
    window: int
    epochs: int
    batch_size: int

    @property
    def target_bins(self) -> np.ndarray:
        """(K·W,) absolute bins whose counts are training targets."""
        return (self.starts[:, None] + np.arange(self.window)).ravel()


class Forecaster(Protocol):
    """What the simulator needs from a model."""

    @property
    def history_steps(self) -> int:
        """P, bins of counts the model reads before its first input bin."""
        ...

    @property
    def warmup_steps(self) -> int:
        """Bins of context before a forecast span that make it chunking-independent."""
        ...

    def forecast(self, request: ForecastRequest) -> Forecast: ...

    def retrain(self, request: TrainingRequest) -> list[float]:
        """Fine-tune in place; return the loss of every epoch."""
        ...


class DeviceSeries(CountSeries):
    """A :class:`CountSeries` whose tensors live on ``device`` (windows are gathered there)."""

    def __init__(
        self, x: np.ndarray, y: np.ndarray, history_steps: int, device: torch.device
    ) -> None:
        super().__init__(x, y, history_steps)
        self._x, self._y = self._x.to(device), self._y.to(device)


class TorchForecaster:
    """A :class:`~fase.training.protocol.CountForecaster` module behind :class:`Forecaster`.

    Retraining: a fresh Adam(lr, weight_decay) per call, shuffled minibatches from a
    ``torch.Generator`` seeded with ``seed`` (its stream continues across calls),
    dropout active, gradients clipped to ``grad_clip``. Dropout draws from torch's
    global RNG; each call runs inside ``torch.random.fork_rng`` seeded from ``seed``
    and a call counter, so results are reproducible and the caller's RNG is untouched.

    Args:
        model: the module (moved to ``device``).
        warmup: context bins (:func:`fase.training.pipeline.forecast_warmup` for FASE).
        chunk_steps: the most bins per forward pass when forecasting (``None``: one pass
            over the whole request, as the reference does for its test window).
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        warmup: int,
        lr: float,
        weight_decay: float,
        grad_clip: float | None,
        reduction: str = "batch_mean",
        seed: int = 0,
        device: str | torch.device = "cpu",
        chunk_steps: int | None = None,
    ) -> None:
        self.device = torch.device(device)
        self.model = model.to(self.device)
        self._warmup = warmup
        self.lr, self.weight_decay, self.grad_clip = lr, weight_decay, grad_clip
        self.reduction = reduction
        self.seed = seed
        self.chunk_steps = chunk_steps
        self.generator = torch.Generator().manual_seed(seed)
        self._calls = 0

    @property
    def history_steps(self) -> int:
        return int(self.model.history_steps)

    @property
    def warmup_steps(self) -> int:
        return self._warmup

    def clone(self, seed: int, device: str | torch.device | None = None) -> TorchForecaster:
        """An independent copy of the current weights with its own seed (a replicate),
        on ``device`` (default: this one's)."""
        return TorchForecaster(
            copy.deepcopy(self.model),
            warmup=self._warmup,
            lr=self.lr,
            weight_decay=self.weight_decay,
            grad_clip=self.grad_clip,
            reduction=self.reduction,
            seed=seed,
            device=self.device if device is None else device,
            chunk_steps=self.chunk_steps,
        )

    def _series(self, x: np.ndarray, counts: np.ndarray) -> CountSeries:
        return DeviceSeries(x, counts, self.history_steps, self.device)

    def forecast(self, request: ForecastRequest) -> Forecast:
        """One forward pass (per ``chunk_steps`` bins), eval mode, no gradients.

        Runs on the CPU (a copy of the weights when training uses another device):
        :func:`~fase.training.forecast_span` returns NumPy arrays.
        """
        model = self.model if self.device.type == "cpu" else copy.deepcopy(self.model).cpu()
        span = forecast_span(
            model,
            CountSeries(request.x, request.counts, self.history_steps),
            request.start - request.offset,
            request.stop - request.offset,
            warmup=request.warmup,
            chunk_steps=self.chunk_steps or request.stop - request.start,
        )
        params = {k: torch.from_numpy(v.astype(np.float64)) for k, v in span.params.items()}
        distribution = self.model.distribution(params)

        def log_prob(counts: np.ndarray) -> np.ndarray:
            return distribution.log_prob(torch.from_numpy(np.asarray(counts, float))).numpy()

        return Forecast(
            span.params["mu"].astype(np.float64), span.expected.astype(np.float64), log_prob
        )

    def retrain(self, request: TrainingRequest) -> list[float]:
        """Fine-tune on the request's windows (class docstring); the epoch losses."""
        if request.epochs == 0 or request.starts.size == 0:
            return []
        series = self._series(request.x, request.counts)
        optimizer = torch.optim.Adam(
            self.model.parameters(),
            lr=self.lr,
            weight_decay=self.weight_decay,
            fused=self.device.type in ("cpu", "cuda"),
        )
        self._calls += 1
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.seed * 1_000_003 + self._calls)
            return train_epochs(
                self.model,
                series,
                np.asarray(request.starts) - request.offset,
                optimizer,
                epochs=request.epochs,
                window=request.window,
                batch_size=request.batch_size,
                generator=self.generator,
                grad_clip=self.grad_clip,
                reduction=self.reduction,  # type: ignore[arg-type]
            )
