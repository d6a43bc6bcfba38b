"""The one forecaster interface: every model, from the historical average to FASE.

Like darts' ``ForecastingModel``, a :class:`Forecaster` is fitted on the training split
of a city's data (the validation split for early stopping or tuning only), then predicts
a count distribution for any span of bins one step ahead — bin t from features up to t
and counts up to t − 1 — and is evaluated with the same metrics on the same bins.

The same object is what the later phases use:

* **allocation** reads the forecast it writes for the test split (:meth:`forecast_split`);
* the **feedback simulator** and the **live service** send it a :class:`ForecastRequest`
  (features and the count record the model may see, any record, not only the data it
  was fitted on) and get a :class:`~fase.training.SpanForecast`; the simulator sends a
  :class:`TrainingRequest` (windows of observed counts) to retrain it in place, and
  :meth:`clone` makes the independent copies its replicates need;
* a **run directory** keeps it as arrays (:meth:`state`, :meth:`restore`;
  :mod:`fase.forecasters.trained`).

Adding a model means adding one module that subclasses :class:`Forecaster` (or
:class:`~fase.forecasters.neural.NeuralForecaster` for a network) and registers itself
in :mod:`fase.forecasters.registry`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal, Self

import numpy as np
import torch

from fase.evaluation.counts import count_metrics
from fase.evaluation.hotspots import hotspot_scores
from fase.forecasters.data import ForecastData
from fase.models.distributions import CountDistribution
from fase.training.forecast import SpanForecast
from fase.training.passes import Objective

if TYPE_CHECKING:
    from fase.training.checkpoint import TrainingState
    from fase.training.engine import FitResult

Family = Literal["baseline", "neural", "graph", "fase"]
PAI_COVERAGE = 0.10


@dataclass(frozen=True)
class FitReport:
    """What :meth:`Forecaster.fit` did.

    Attributes:
        seconds: wall time (s).
        epochs: epochs run (0 when the fit is not iterative).
        best_val_loss: the best validation loss (NaN when none).
        notes: free-form numbers for the leaderboard.
        training: the training engine's result (networks only): scored checkpoint,
            test loss, per-epoch log.
    """

    seconds: float
    epochs: int = 0
    best_val_loss: float = float("nan")
    notes: dict[str, float | int | str] = field(default_factory=dict)
    training: FitResult | None = None


@dataclass(frozen=True)
class ForecastRequest:
    """Forecast bins [start, stop) one step ahead from a count record.

    Attributes:
        offset: absolute bin of column 0 of ``x``, ``counts`` and ``hour_of_week``.
        x: (N, stop − offset, F) float32 scaled features.
        counts: (N, stop − offset) count record (history; inside [start, stop) it is
            read causally: bin t's forecast uses counts up to t − 1 only).
        start, stop: the bins to forecast, offset ≤ start < stop.
        warmup: bins of context before ``start`` the model needs
            (:attr:`Forecaster.warmup_steps`); ``offset = start − warmup − history``
            clipped at 0, with history = :attr:`Forecaster.history_steps`.
        hour_of_week: (stop − offset,) int64 local hour of the week (Monday 00:00 = 0)
            of each column's bin start, for models with a weekly season.
    """

    offset: int
    x: np.ndarray
    counts: np.ndarray
    start: int
    stop: int
    warmup: int
    hour_of_week: np.ndarray | None = None

    @property
    def columns(self) -> slice:
        """The columns of the arrays that hold the bins to forecast."""
        return slice(self.start - self.offset, self.stop - self.offset)


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
        lr, weight_decay, grad_clip: a fresh Adam per request, global-norm clipping.
        reduction: how an epoch's loss averages its minibatches (training engine).
        hour_of_week: (T',) int64 local hour of the week of each column's bin.
        capture: on a GPU, replay the retraining step captured once as a CUDA graph
            (:mod:`fase.training.captured`; the numbers of the eager step); ignored on a
            CPU and by models without a neural network.
    """

    offset: int
    x: np.ndarray
    counts: np.ndarray
    starts: np.ndarray
    window: int
    epochs: int
    batch_size: int
    lr: float = 1e-3
    weight_decay: float = 1e-4
    grad_clip: float | None = 5.0
    reduction: str = "batch_mean"
    hour_of_week: np.ndarray | None = None
    capture: bool = True

    @property
    def target_bins(self) -> np.ndarray:
        """(K·W,) absolute bins whose counts are training targets."""
        return (self.starts[:, None] + np.arange(self.window)).ravel()


class Forecaster(ABC):
    """A count forecaster over a city's areas (see the module docstring).

    Class attributes: ``name`` (registry key), ``family`` and ``objective``: what the
    model was trained to minimise — ``"nll"`` (its distribution's likelihood) or
    ``"mse"`` (squared error; its NLL is then a Poisson NLL around its prediction,
    reported as such).
    """

    name: ClassVar[str]
    family: ClassVar[Family]
    objective: ClassVar[Objective] = "nll"
    task: str = "counts"
    """``counts`` (a count distribution) or ``levels`` (a risk-level classifier)."""
    inputs: ClassVar[str] = "area"
    """``area``: the area features of :class:`ForecastData`; ``study``: the model-zoo
    study's incident-level representation (:mod:`fase.data.study_features`)."""

    # -- fitting and scoring on a city's data -----------------------------------------
    @abstractmethod
    def fit(
        self,
        data: ForecastData,
        *,
        seed: int,
        out_dir: Path | None = None,
        resume: bool = False,
        progress: bool | None = False,
        on_epoch_end: Callable[[TrainingState], None] | None = None,
    ) -> FitReport:
        """Fit on ``data``'s training split (validation: early stopping only).

        ``out_dir``: where iterative models keep checkpoints and logs (None: a temporary
        directory); ``resume``, ``progress`` and ``on_epoch_end`` concern iterative
        models only (see :func:`fase.training.fit`).
        """

    @abstractmethod
    def predict(self, data: ForecastData, start: int, end: int) -> CountDistribution:
        """Distribution of the counts of bins [start, end), parameters (T, N) float64."""

    def forecast_split(self, data: ForecastData, split: str) -> SpanForecast:
        """The forecast of every bin of ``split`` (what ``fase train`` writes)."""
        start, end = data.bounds(split)
        return SpanForecast.of_distribution(start, end, self.predict(data, start, end))

    def evaluate(self, data: ForecastData, split: str = "test") -> dict[str, float]:
        """Scores on ``split``: mean NLL, MAE, RMSE of E[Y] and PAI at 10 % of the areas.

        Returns:
            ``{"nll", "mae", "rmse", "pai_10"}``; NLL per area-bin (nats), PAI pooled
            over the split (count mode, ties by index).
        """
        start, end = data.bounds(split)
        return score_distribution(self.predict(data, start, end), data, start, end)

    @property
    def num_parameters(self) -> int:
        """Fitted parameters (0 for a model without any)."""
        return 0

    # -- deployment: any count record -------------------------------------------------
    @property
    @abstractmethod
    def history_steps(self) -> int:
        """Bins of counts the model reads before its first input bin."""

    @property
    @abstractmethod
    def warmup_steps(self) -> int:
        """Bins of context before a forecast span that make it chunking-independent."""

    @abstractmethod
    def forecast(self, request: ForecastRequest) -> SpanForecast:
        """The forecast of bins [request.start, request.stop) (absolute indices)."""

    @abstractmethod
    def retrain(self, request: TrainingRequest) -> list[float]:
        """Fit again in place on the request's windows; the loss of every epoch
        (empty for a model refitted in closed form)."""

    @abstractmethod
    def clone(self, seed: int, device: str | torch.device | None = None) -> Self:
        """An independent copy of the fitted model whose retraining draws from ``seed``
        (a replicate), on ``device`` (networks; default: this one's)."""

    # -- persistence ------------------------------------------------------------------
    @abstractmethod
    def state(self) -> dict[str, np.ndarray]:
        """The fitted model as arrays (networks: the best checkpoint's weights)."""

    @abstractmethod
    def restore(self, data: ForecastData, state: dict[str, np.ndarray]) -> None:
        """Become the model :meth:`state` returned, fitted on ``data``."""

    def require_fitted(self, fitted: bool) -> None:
        if not fitted:
            raise RuntimeError(f"{self.name}: call fit() or restore() first")


def score_distribution(
    distribution: CountDistribution, data: ForecastData, start: int, end: int
) -> dict[str, float]:
    """:meth:`Forecaster.evaluate`'s metrics of a (T, N) distribution for bins [start, end)."""
    y_true = data.y[:, start:end].T.astype(np.float64)
    expected = distribution.mean.detach().cpu().double().numpy()
    log_prob = distribution.log_prob(torch.as_tensor(y_true)).detach().cpu().double().numpy()
    scores = count_metrics(y_true, expected, log_prob)
    pai = hotspot_scores(expected, y_true, PAI_COVERAGE, data.area_km2).summary()["pai_pooled"]
    return {
        "nll": float(scores["nll"]),
        "mae": float(scores["mae"]),
        "rmse": float(scores["rmse"]),
        "pai_10": float("nan") if pai is None else float(pai),
    }
