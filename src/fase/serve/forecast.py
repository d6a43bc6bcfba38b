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
exposure, as in training. The model is the run's forecaster, whatever it is: each bin
is one :class:`~fase.forecasters.ForecastRequest`.
"""

from __future__ import annotations

import numpy as np

from fase.forecasters import Forecaster, ForecastRequest
from fase.simulation.params import FeatureMap
from fase.training.forecast import SpanForecast


def forecast_period(
    forecaster: Forecaster, features: FeatureMap, record: np.ndarray, length: int
) -> SpanForecast:
    """Forecast the L = ``length`` bins after ``record`` (module docstring).

    Args:
        forecaster: the run's fitted forecaster.
        features: builds scaled features (N, ·, F) of a count record; its bin starts
            must cover F + L bins.
        record: (N, F) float64 incidents per area and bin, bins 0..F − 1.
        length: L ≥ 1.

    Returns:
        The forecast of bins [F, F + L): ``params`` name → (L, N) and ``expected`` (L, N),
        in the forecaster's dtype (float32 for networks).
    """
    n_areas, frontier = record.shape
    warmup, history = forecaster.warmup_steps, forecaster.history_steps
    counts = np.concatenate([record, np.zeros((n_areas, length))], axis=1)
    exposure = np.zeros_like(counts)
    params: dict[str, list[np.ndarray]] = {}
    expected: list[np.ndarray] = []
    span: SpanForecast | None = None
    for step in range(frontier, frontier + length):
        first = max(0, step - warmup - history)
        request = ForecastRequest(
            first,
            features(counts, exposure, first, step + 1),
            counts[:, first : step + 1],
            step,
            step + 1,
            warmup,
            features.hour_of_week(first, step + 1),
        )
        span = forecaster.forecast(request)
        counts[:, step] = span.expected[0]
        expected.append(span.expected[0])
        for name, value in span.params.items():
            params.setdefault(name, []).append(value[0])
    assert span is not None  # length ≥ 1
    stacked = {name: np.stack(rows) for name, rows in params.items()}
    return SpanForecast(
        frontier, frontier + length, stacked, np.stack(expected), span.distribution, span.eps
    )
