"""The 13 node features — one definition shared by training and simulation.

For a count matrix y (N, T) and bin t (0-based), with window lengths given as
durations and converted to bins (24 h and 7 d are 24 and 168 hourly bins, 1 and 7
daily bins):

====  ===================  ====================================================
idx   name                 definition at bin t (uses y only up to t−1)
====  ===================  ====================================================
0–2   lag_1..lag_3         y[t−k]; 0 for t < k
3     roll_mean_24h        mean of y over the w₁ bins before t (see ``rolling_head``)
4     roll_mean_7d         the same with w₂ bins
5–6   sin_tod, cos_tod     sin/cos(2π·(hour + minute/60)/24) of the local bin start
7–8   sin_dow, cos_dow     sin/cos(2π·dow/7), Monday = 0
9–11  pct_minority, median_income_norm, poverty_rate   static per node
12    patrol_exposure      patrol units received in bin t−1 (0 until Phase 5 updates it)
====  ===================  ====================================================

``rolling_head`` sets the mean for t < w: ``available`` divides by the bins actually
available, mean(y[0..t−1]) (0 at t = 0); ``pandas_fill`` reproduces the reference code,
pandas ``rolling(w, min_periods=1)`` over the series shifted by one with the first
value filled by 0, whose divisor min(t+1, w) counts that filled zero (e.g. at t = 1
the mean is y[0]/2). For t ≥ w both equal mean(y[t−w..t−1]).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from fase.data.demographics import STATIC_FEATURES

CALENDAR_FEATURES = ("sin_tod", "cos_tod", "sin_dow", "cos_dow")
EXPOSURE_FEATURE = "patrol_exposure"


@dataclass(frozen=True)
class FeatureSpec:
    """Which count features to build; windows already converted to bins."""

    lags: int = 3
    window_bins: tuple[int, int] = (24, 168)
    window_names: tuple[str, str] = ("24h", "7d")
    rolling_head: Literal["available", "pandas_fill"] = "available"

    @property
    def names(self) -> tuple[str, ...]:
        lags = tuple(f"lag_{k}" for k in range(1, self.lags + 1))
        rolls = tuple(f"roll_mean_{name}" for name in self.window_names)
        return lags + rolls + CALENDAR_FEATURES + STATIC_FEATURES + (EXPOSURE_FEATURE,)

    @property
    def n_count_features(self) -> int:
        return self.lags + len(self.window_bins)

    @property
    def exposure_index(self) -> int:
        return len(self.names) - 1


def lagged(y: np.ndarray, k: int) -> np.ndarray:
    """(N, T) → (N, T): y[:, t−k], zero for t < k."""
    out = np.zeros_like(y)
    if k < y.shape[1]:
        out[:, k:] = y[:, : y.shape[1] - k]
    return out


def rolling_mean(
    y: np.ndarray, window: int, head: Literal["available", "pandas_fill"]
) -> np.ndarray:
    """(N, T) → (N, T): mean of the ``window`` bins strictly before t (see module doc).

    Computed from cumulative sums in float64, O(N·T).
    """
    n, t_len = y.shape
    cumulative = np.zeros((n, t_len + 1), dtype=np.float64)
    np.cumsum(y, axis=1, out=cumulative[:, 1:])
    t = np.arange(t_len)
    lo = np.maximum(t - window, 0)
    sums = cumulative[:, t] - cumulative[:, lo]
    if head == "available":
        divisor = np.minimum(t, window).astype(np.float64)
        return np.divide(sums, divisor, out=np.zeros_like(sums), where=divisor > 0)
    divisor = np.minimum(t + 1, window).astype(
        np.float64
    )  # the zero-filled s_0 counts while t < window
    return sums / divisor


def calendar_features(starts: pd.DatetimeIndex) -> np.ndarray:
    """(T,) local bin starts → (T, 4) [sin_tod, cos_tod, sin_dow, cos_dow]."""
    hours = starts.hour.to_numpy() + starts.minute.to_numpy() / 60.0
    dow = starts.day_of_week.to_numpy().astype(np.float64)
    tod_angle = 2 * np.pi * hours / 24.0
    dow_angle = 2 * np.pi * dow / 7.0
    return np.stack(
        [np.sin(tod_angle), np.cos(tod_angle), np.sin(dow_angle), np.cos(dow_angle)], axis=1
    )


def build_features(
    y: np.ndarray,
    starts: pd.DatetimeIndex | np.ndarray,
    static: np.ndarray,
    spec: FeatureSpec,
    exposure: np.ndarray | None = None,
    first: int = 0,
) -> np.ndarray:
    """Feature tensor X (N, T − first, F) float32 of bins [first, T), F = len(spec.names)
    (13 by default); the bins before ``first`` serve as the count history only.

    Args:
        y: (N, T) counts (observed counts in the simulator).
        starts: (T,) local, tz-aware bin starts, or their (T, 4) calendar features
            (:func:`calendar_features`) where a caller builds features of many slices
            of one series (the simulator, once per forecast pass).
        static: (N, 3) static demographics.
        spec: lags, windows and head rule.
        exposure: (N, T) patrol units per bin; the feature at t is exposure[:, t−1].
        first: the first bin to return (the simulator builds one new bin per pass).
    """
    n, t_len = y.shape
    y64 = np.asarray(y, dtype=np.float64)
    x = np.empty((n, t_len - first, len(spec.names)), dtype=np.float32)
    for k in range(1, spec.lags + 1):
        x[:, :, k - 1] = lagged(y64, k)[:, first:]
    for j, window in enumerate(spec.window_bins):
        x[:, :, spec.lags + j] = rolling_mean(y64, window, spec.rolling_head)[:, first:]
    c0 = spec.n_count_features
    calendar = starts if isinstance(starts, np.ndarray) else calendar_features(starts)
    x[:, :, c0 : c0 + 4] = calendar[None, first:, :]
    x[:, :, c0 + 4 : c0 + 7] = np.asarray(static, dtype=np.float64)[:, None, :]
    x[:, :, spec.exposure_index] = (
        0.0 if exposure is None else lagged(np.asarray(exposure, np.float64), 1)[:, first:]
    )
    return x
