"""DST-safe bins: absolute hours, local calendar days."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from fase.data.bins import make_grid

TZ = "America/Chicago"


def test_spring_forward_day_has_23_hourly_bins_and_fall_back_25() -> None:
    spring = make_grid(dt.date(2016, 3, 13), dt.date(2016, 3, 14), pd.Timedelta("1h"), TZ)
    fall = make_grid(dt.date(2016, 11, 6), dt.date(2016, 11, 7), pd.Timedelta("1h"), TZ)
    assert spring.n_bins == 23 and fall.n_bins == 25
    # every hourly bin is exactly one absolute hour
    assert set(np.diff(spring.edges)) == {3_600_000_000_000}
    assert list(fall.starts.hour[:4]) == [0, 1, 1, 2]


def test_two_years_hourly_and_daily_bins() -> None:
    hourly = make_grid(dt.date(2016, 1, 1), dt.date(2018, 1, 1), pd.Timedelta("1h"), TZ)
    daily = make_grid(dt.date(2016, 1, 1), dt.date(2018, 1, 1), pd.Timedelta("1D"), TZ)
    assert hourly.n_bins == 731 * 24 and daily.n_bins == 731
    assert (daily.starts.hour == 0).all()  # local midnights, also after DST changes


def test_eight_hour_bins_follow_local_shifts() -> None:
    grid = make_grid(dt.date(2016, 3, 13), dt.date(2016, 3, 15), pd.Timedelta("8h"), TZ)
    assert grid.n_bins == 6
    assert list(grid.starts.hour) == [0, 8, 16, 0, 8, 16]
    lengths = np.diff(grid.edges) / 3.6e12
    assert list(lengths) == [7.0, 8.0, 8.0, 8.0, 8.0, 8.0]


def test_assign_uses_absolute_time() -> None:
    grid = make_grid(dt.date(2016, 11, 6), dt.date(2016, 11, 7), pd.Timedelta("1h"), TZ)
    times = pd.DatetimeIndex(
        [
            pd.Timestamp("2016-11-06 01:30").tz_localize(TZ, ambiguous=True),
            pd.Timestamp("2016-11-06 01:30").tz_localize(TZ, ambiguous=False),
            pd.Timestamp("2016-11-07 00:00", tz=TZ),
            pd.Timestamp("2016-11-05 23:59", tz=TZ),
        ]
    )
    assert list(grid.assign(times)) == [1, 2, -1, -1]
