"""Window starts and batch assembly, checked entry by entry against the raw arrays."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fase.training import CountSeries, window_starts


def test_window_counts_match_the_reference_split_sizes() -> None:
    # paper: 18,396 / 3,942 / 3,942 bins, W = stride = 32 → 574 / 123 / 123 windows
    assert len(window_starts(0, 18_396, 32, 32)) == 574
    assert len(window_starts(18_396, 22_338, 32, 32)) == 123
    starts = window_starts(18_396, 22_338, 32, 32)
    assert starts[0] == 18_396 and starts[-1] == 18_396 + 122 * 32  # the 6-bin tail is dropped
    np.testing.assert_array_equal(window_starts(10, 30, 8, 4), [10, 14, 18, 22])
    assert len(window_starts(0, 7, 8, 8)) == 0


def test_each_window_gets_the_counts_of_bins_s_minus_p_to_s_plus_w(series_data) -> None:
    x, y = series_data
    p, w = 24, 16
    series = CountSeries(x, y, p)
    starts = np.array([0, 5, 24, 200, 284])
    batch = series.batch(starts, w)
    assert batch.x.shape == (5, 5, w, 13) and batch.y_hist.shape == (5, 5, p + w)
    for i, s in enumerate(starts):
        for j in range(p + w):  # y_hist[j] is bin s − P + j, zero before bin 0
            t = s - p + j
            expected = y[:, t] if t >= 0 else np.zeros(5)
            np.testing.assert_array_equal(batch.y_hist[i, :, j].numpy(), expected)
        np.testing.assert_array_equal(batch.x[i].numpy(), x[:, s : s + w])
        np.testing.assert_array_equal(batch.target[i].numpy(), y[:, s : s + w])
    # window at 5: bins −19..−1 are zeros, bins 0..4 the first counts
    assert float(batch.y_hist[1, :, :19].abs().sum()) == 0.0
    np.testing.assert_array_equal(batch.y_hist[1, :, 19:24].numpy(), y[:, :5])


def test_validation_history_comes_from_the_training_period(series_data) -> None:
    x, y = series_data
    series = CountSeries(x, y, history_steps=24)
    first_val = window_starts(200, 250, 16, 8)[0]
    batch = series.batch(np.array([first_val]), 16)
    np.testing.assert_array_equal(batch.y_hist[0, :, :24].numpy(), y[:, 176:200])
    assert y[:, 176:200].sum() > 0  # the check is not vacuous


def test_without_history_y_hist_is_the_target(series_data) -> None:
    x, y = series_data
    batch = CountSeries(x, y, 0).batch(np.array([3, 40]), 10)
    assert torch.equal(batch.y_hist, batch.target)


def test_windows_outside_the_series_are_refused(series_data) -> None:
    series = CountSeries(*series_data, 4)
    with pytest.raises(IndexError):
        series.batch(np.array([295]), 16)
    with pytest.raises(IndexError):
        series.batch(np.array([-1]), 16)
