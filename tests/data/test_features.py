"""The 13 features against an independent, direct computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fase.data.features import FeatureSpec, build_features, calendar_features, rolling_mean

TZ = "America/Chicago"


def direct_features(
    y: np.ndarray, starts: pd.DatetimeIndex, static: np.ndarray, spec: FeatureSpec
) -> np.ndarray:
    """Plain loops: the definition written out, one cell at a time."""
    n, t_len = y.shape
    out = np.zeros((n, t_len, 13))
    for v in range(n):
        for t in range(t_len):
            for k in (1, 2, 3):
                out[v, t, k - 1] = y[v, t - k] if t >= k else 0.0
            for j, w in enumerate(spec.window_bins):
                if spec.rolling_head == "available":
                    past = y[v, max(0, t - w) : t]
                    out[v, t, 3 + j] = past.mean() if len(past) else 0.0
                else:  # pandas rolling(min_periods=1) over [0, y0, y1, ...]
                    shifted = [0.0, *y[v, : t_len - 1]]
                    window = shifted[max(0, t - w + 1) : t + 1]
                    out[v, t, 3 + j] = np.mean(window)
            ts = starts[t]
            hour = ts.hour + ts.minute / 60
            out[v, t, 5] = np.sin(2 * np.pi * hour / 24)
            out[v, t, 6] = np.cos(2 * np.pi * hour / 24)
            out[v, t, 7] = np.sin(2 * np.pi * ts.day_of_week / 7)
            out[v, t, 8] = np.cos(2 * np.pi * ts.day_of_week / 7)
            out[v, t, 9:12] = static[v]
    return out


@pytest.mark.parametrize("head", ["available", "pandas_fill"])
def test_features_match_direct_computation(head: str) -> None:
    rng = np.random.default_rng(0)
    starts = pd.date_range("2016-11-05", periods=60, freq="1h", tz=TZ)  # crosses the fall-back hour
    y = rng.poisson(1.3, size=(3, 60)).astype(float)
    static = rng.uniform(size=(3, 3))
    spec = FeatureSpec(window_bins=(4, 10), rolling_head=head)
    x = build_features(y, starts, static, spec)
    assert x.shape == (3, 60, 13) and x.dtype == np.float32
    np.testing.assert_allclose(
        x[..., :12], direct_features(y, starts, static, spec)[..., :12], rtol=0, atol=1e-6
    )
    assert np.all(x[..., 12] == 0.0)


def test_pandas_fill_head_equals_pandas_rolling() -> None:
    """The paper's rule is pandas' own: shift(1).fillna(0).rolling(w, min_periods=1).mean()."""
    rng = np.random.default_rng(1)
    y = rng.poisson(0.7, size=(2, 400)).astype(float)
    ours = rolling_mean(y, 168, "pandas_fill")
    for v in range(2):
        expected = pd.Series(y[v]).shift(1).fillna(0).rolling(168, min_periods=1).mean().to_numpy()
        np.testing.assert_allclose(ours[v], expected, atol=1e-9)
    # The worked example of the reference: roll24 at t = 1 is y0 / 2.
    assert rolling_mean(np.array([[4.0, 0.0, 0.0]]), 24, "pandas_fill")[0, 1] == 2.0
    assert rolling_mean(np.array([[4.0, 0.0, 0.0]]), 24, "available")[0, 1] == 4.0


@pytest.mark.parametrize("first", [0, 1, 5, 30, 59])
def test_features_from_a_later_bin_equal_the_whole_series_tail(first: int) -> None:
    """``first``: the features of bins [first, T) only, the earlier counts as history;
    equal to the bit to the tail of the whole build (given as bin starts or as their
    calendar features)."""
    rng = np.random.default_rng(4)
    starts = pd.date_range("2016-11-05", periods=60, freq="1h", tz=TZ)
    y = rng.poisson(1.3, size=(3, 60)).astype(float)
    exposure = rng.uniform(0, 4, size=(3, 60))
    static = rng.uniform(size=(3, 3))
    spec = FeatureSpec(window_bins=(4, 10))
    whole = build_features(y, starts, static, spec, exposure)
    tail = build_features(y, calendar_features(starts), static, spec, exposure, first=first)
    assert tail.shape == (3, 60 - first, 13)
    np.testing.assert_array_equal(tail, whole[:, first:])


def test_no_feature_at_or_before_t_depends_on_y_t() -> None:
    """Leakage: perturb y at t; every feature at bins ≤ t is unchanged, and lag_1 at t+1 moves."""
    rng = np.random.default_rng(2)
    starts = pd.date_range("2017-03-01", periods=200, freq="1h", tz=TZ)
    y = rng.poisson(1.0, size=(4, 200)).astype(float)
    static = rng.uniform(size=(4, 3))
    spec = FeatureSpec(window_bins=(24, 168))
    base = build_features(y, starts, static, spec)
    for t in (0, 1, 23, 24, 167, 168, 199):
        bumped = y.copy()
        bumped[:, t] += 5.0
        x = build_features(bumped, starts, static, spec)
        np.testing.assert_array_equal(x[:, : t + 1], base[:, : t + 1])
        if t + 1 < 200:
            np.testing.assert_allclose(x[:, t + 1, 0] - base[:, t + 1, 0], 5.0)


def test_calendar_features_use_local_wall_time_across_dst() -> None:
    starts = pd.date_range("2016-03-13 00:00", periods=5, freq="1h", tz=TZ)  # 02:00 does not exist
    x = build_features(np.zeros((1, 5)), starts, np.zeros((1, 3)), FeatureSpec(window_bins=(2, 3)))
    hours = np.array([0, 1, 3, 4, 5])
    np.testing.assert_allclose(x[0, :, 5], np.sin(2 * np.pi * hours / 24), atol=1e-6)
    # 2016-03-13 is a Sunday: day of week 6.
    np.testing.assert_allclose(x[0, :, 7], np.sin(2 * np.pi * 6 / 7), atol=1e-6)


def test_patrol_exposure_is_lagged_one_bin() -> None:
    starts = pd.date_range("2017-01-02", periods=4, freq="1h", tz=TZ)
    exposure = np.array([[3.0, 0.0, 7.5, 1.0]])
    x = build_features(
        np.zeros((1, 4)), starts, np.zeros((1, 3)), FeatureSpec(window_bins=(2, 3)), exposure
    )
    np.testing.assert_array_equal(x[0, :, 12], [0.0, 3.0, 0.0, 7.5])
