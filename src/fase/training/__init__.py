"""Training: windows and batches, the training engine (fit, early stopping,
checkpoints, resume), and full-sequence forecasting.

The engine is model-agnostic: anything satisfying :class:`CountForecaster` trains with
:func:`fit` and forecasts with :func:`forecast_span`. :mod:`fase.training.pipeline`
wires FASE to a run directory (``fase train``); :mod:`fase.training.scoring` scores the
forecast (``fase evaluate``).
"""

from fase.training.checkpoint import TrainingState, load_checkpoint
from fase.training.engine import (
    FitResult,
    SplitWindows,
    batch_loss,
    evaluate_loss,
    fit,
    train_epoch,
    train_epochs,
)
from fase.training.forecast import SpanForecast, forecast_span, read_forecast, write_forecast
from fase.training.protocol import CountForecaster
from fase.training.windows import CountSeries, WindowBatch, window_starts

__all__ = [
    "CountForecaster",
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
    "train_epoch",
    "train_epochs",
    "window_starts",
    "write_forecast",
]
