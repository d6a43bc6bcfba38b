"""Training: windows and batches, the training engine (fit, early stopping,
checkpoints, resume, data-parallel ranks), and full-sequence forecasting.

The engine is model-agnostic: any :class:`~fase.models.CountNetwork` trains with
:func:`fit` and forecasts with :func:`forecast_span`; :class:`SpanForecast` is the
forecast every model returns (:mod:`fase.forecasters`).
"""

from fase.training.checkpoint import TrainingState, load_checkpoint
from fase.training.engine import (
    FitResult,
    batch_loss,
    evaluate_loss,
    fit,
    train_epoch,
    train_epochs,
)
from fase.training.forecast import SpanForecast, forecast_span, read_forecast, write_forecast
from fase.training.windows import (
    CountSeries,
    SplitWindows,
    WindowBatch,
    split_windows,
    window_starts,
)

__all__ = [
    "CountSeries",
    "FitResult",
    "SpanForecast",
    "SplitWindows",
    "TrainingState",
    "WindowBatch",
    "batch_loss",
    "evaluate_loss",
    "fit",
    "forecast_span",
    "load_checkpoint",
    "read_forecast",
    "split_windows",
    "train_epoch",
    "train_epochs",
    "window_starts",
    "write_forecast",
]
