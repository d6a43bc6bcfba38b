"""The next period's forecast from the live count record: one step ahead, then recursive.

The period is the L bins [F, F + L) after the record's last bin F − 1. Bin F is a true
one-step-ahead forecast (features and counts up to F − 1, exactly as
:func:`fase.training.forecast_span` forecasts any bin). The counts of bins F..F + L − 2
are not known yet; each is replaced by its own forecast's expected count E[Y] before
the next bin is forecast (the recursive "plug-in mean" strategy), so the forecast of bin
F + l is the one-step-ahead forecast given the record and the expected counts of the l
bins before it. Equivalently: running :func:`~fase.training.forecast_span` over the whole
period on the record extended by the returned ``expected`` rows reproduces the result.

Model inputs are built with the run's own feature map (:class:`fase.simulation.params
.FeatureMap`: lags, rolling means, calendar, demographics, scaler) and zero patrol
exposure, as in training.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from fase.simulation.params import FeatureMap
from fase.training.forecast import SpanForecast, forecast_span
from fase.training.windows import CountSeries


def forecast_period(
    model: nn.Module,
    features: FeatureMap,
    record: np.ndarray,
    length: int,
    warmup: int,
) -> SpanForecast:
    """Forecast the L = ``length`` bins after ``record`` (module docstring).

    Args:
        model: a :class:`~fase.training.protocol.CountForecaster` (eval mode, CPU).
        features: builds scaled features (N, ·, F) of a count record; its bin starts
            must cover F + L bins.
        record: (N, F) float64 incidents per area and bin, bins 0..F − 1.
        length: L ≥ 1.
        warmup: context bins before each forecast bin
            (:func:`fase.training.pipeline.forecast_warmup`).

    Returns:
        The forecast of bins [F, F + L): ``params`` name → (L, N) float32 and
        ``expected`` (L, N) float32.
    """
    n_areas, frontier = record.shape
    history = int(model.history_steps)
    counts = np.concatenate([record, np.zeros((n_areas, length))], axis=1)
    exposure = np.zeros_like(counts)
    params: dict[str, list[np.ndarray]] = {}
    expected: list[np.ndarray] = []
    for step in range(frontier, frontier + length):
        first = max(0, step - warmup - history)
        x = features(counts, exposure, first, step + 1)
        series = CountSeries(x, counts[:, first : step + 1], history)
        span = forecast_span(model, series, step - first, step - first + 1, warmup=warmup)
        counts[:, step] = span.expected[0]
        expected.append(span.expected[0])
        for name, value in span.params.items():
            params.setdefault(name, []).append(value[0])
    stacked = {name: np.stack(rows) for name, rows in params.items()}
    return SpanForecast(frontier, frontier + length, stacked, np.stack(expected))
