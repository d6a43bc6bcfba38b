"""Full-sequence forecasting: agreement with window-wise application, causality,
independence of the chunking, and the artefact."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.training.helpers import HAWKES_BINS, synthetic_series, tiny_model

from fase.io import read_npz
from fase.models import forecast_warmup
from fase.training import CountSeries, forecast_span, read_forecast, write_forecast
from fase.training.forecast import SpanForecast

START, END = 200, 300


def series_for(model) -> CountSeries:
    return CountSeries(*synthetic_series(), model.history_steps)


def test_forecast_equals_window_wise_application_where_contexts_agree() -> None:
    model = tiny_model().eval()
    series = series_for(model)
    warmup = forecast_warmup(model)
    assert warmup == model.config.receptive_field - 1 == 3
    forecast = forecast_span(model, series, START, END, warmup=warmup, chunk_steps=37)
    for s in range(START, END - 16 + 1, 8):
        batch = series.batch(np.array([s]), 16)
        with torch.no_grad():
            window = model(batch.x, batch.y_hist)
        # positions ≥ R − 1 of a window see their full receptive field in both
        for name in ("mu", "theta", "pi"):
            np.testing.assert_allclose(
                forecast.params[name][s - START + 3 : s - START + 16],
                window[name][0, :, 3:].T.numpy(),
                rtol=1e-5,
                atol=1e-6,
            )
    mu, pi = forecast.params["mu"], forecast.params["pi"]
    np.testing.assert_allclose(forecast.expected, (1 - pi) * mu, rtol=1e-6)
    assert forecast.expected.shape == (END - START, 5)


def test_restart_history_with_a_long_warmup_matches_carried_history() -> None:
    carry = tiny_model(seed=1).eval()
    restart = tiny_model(seed=1, hawkes_history="restart").eval()
    assert forecast_warmup(restart) == HAWKES_BINS
    a = forecast_span(carry, series_for(carry), START, END, warmup=forecast_warmup(carry))
    b = forecast_span(restart, series_for(restart), START, END, warmup=forecast_warmup(restart))
    np.testing.assert_allclose(a.params["mu"], b.params["mu"], rtol=1e-5, atol=1e-6)


def test_chunking_does_not_change_the_forecast() -> None:
    model = tiny_model()
    series = series_for(model)
    one_pass = forecast_span(model, series, START, END, warmup=3, chunk_steps=1000)
    chunked = forecast_span(model, series, START, END, warmup=3, chunk_steps=7)
    for name, value in one_pass.params.items():
        np.testing.assert_allclose(chunked.params[name], value, rtol=1e-5, atol=1e-6)


def test_forecast_is_causal() -> None:
    model = tiny_model()
    x, y = synthetic_series()
    t0 = 240
    base = forecast_span(model, CountSeries(x, y, model.history_steps), START, END, warmup=3)
    x2, y2 = x.copy(), y.copy()
    y2[:, t0] += 5  # a count at t0 may only affect bins after t0
    x2[:, t0 + 1] += 1.0  # features at t0 + 1 may only affect bins from t0 + 1
    changed = forecast_span(model, CountSeries(x2, y2, model.history_steps), START, END, warmup=3)
    cut = t0 + 1 - START
    for name, value in base.params.items():
        np.testing.assert_array_equal(changed.params[name][:cut], value[:cut])
        assert not np.allclose(changed.params[name][cut], value[cut])


def test_artefact_stores_test_unprefixed_and_validation_prefixed(tmp_path: Path) -> None:
    model = tiny_model(likelihood_eps=1e-6)
    series = series_for(model)
    forecasts = {
        "val": forecast_span(model, series, 200, 250, warmup=3),
        "test": forecast_span(model, series, 250, 300, warmup=3),
    }
    bin_start = np.arange(300, dtype=np.int64) * 3_600_000_000_000
    path = write_forecast(tmp_path / "forecast.npz", forecasts, bin_start)
    arrays = read_npz(path)
    assert arrays["mu"].shape == arrays["expected"].shape == (50, 5)
    np.testing.assert_array_equal(arrays["mu"], forecasts["test"].params["mu"])
    np.testing.assert_array_equal(arrays["val_expected"], forecasts["val"].expected)
    np.testing.assert_array_equal(arrays["bin_start"], bin_start[250:300])
    np.testing.assert_array_equal(arrays["span"], [250, 300])
    stored = read_forecast(path)
    assert (stored.distribution, stored.eps) == ("zinb", 1e-6)
    assert (stored.start, stored.end) == (250, 300)
    dist = stored.to_distribution()
    np.testing.assert_allclose(dist.mean.numpy(), arrays["expected"], rtol=1e-6)
    assert read_forecast(path, "val").start == 200
    with pytest.raises(ValueError):
        write_forecast(tmp_path / "x.npz", {"val": forecasts["val"]}, bin_start)


def test_rows_and_concat_give_back_the_span() -> None:
    """Rows of a span, concatenated again, are the span (parameters, expected counts and
    likelihood); pieces that leave a gap or differ in distribution are refused."""
    model = tiny_model()
    series = series_for(model)
    span = forecast_span(model, series, 40, 70, warmup=forecast_warmup(model))
    pieces = [span.rows(0, 7), span.rows(7, 8), span.rows(8, 30)]
    assert [(p.start, p.end) for p in pieces] == [(40, 47), (47, 48), (48, 70)]
    whole = SpanForecast.concat(pieces)
    assert (whole.start, whole.end, whole.distribution) == (40, 70, span.distribution)
    for name, values in span.params.items():
        np.testing.assert_array_equal(whole.params[name], values)
    np.testing.assert_array_equal(whole.expected, span.expected)
    counts = torch.from_numpy(np.rint(span.expected.astype(np.float64)))
    torch.testing.assert_close(
        whole.to_distribution().log_prob(counts), span.to_distribution().log_prob(counts)
    )
    with pytest.raises(ValueError, match="consecutive"):
        SpanForecast.concat([pieces[0], pieces[2]])
    with pytest.raises(ValueError, match="one distribution"):
        SpanForecast.concat([pieces[0], replace(pieces[1], distribution="poisson")])
