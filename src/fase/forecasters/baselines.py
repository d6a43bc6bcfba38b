"""Simple baselines of the model zoo: historical average and seasonal naive.

Each is fitted on the training split only and predicts bin t one step ahead (features up
to t, true counts up to t − 1, never y[:, t]). Notation: y (N, T) counts, W the bins of
a week (168 hourly, 7 daily), c(t) = ``ForecastData.season_index()[t]`` the bin's slot.

* ``historical_average``: μ[v, c] = mean of y[v, t] over the training bins with c(t) = c,
  floored at half an incident over those bins (0.5 / n_c) so that a slot with no incident
  keeps a small positive rate. A slot with no training bin falls back to the area's
  training mean (floor 0.5 / T_train). Predictive law NB(μ, θ_v) (see
  :func:`fit_dispersion`).
* ``seasonal_naive``: μ[v, t] = y[v, t − W], the true count a week earlier, except that a
  zero is replaced by f_v, the area's mean count over the training bins that followed a
  zero a week earlier (the maximum-likelihood mean of those bins; same floor). Bins
  t < W have no week-old count and get the area's mean over the training bins from W on,
  the bins on which f_v and θ_v are fitted. Law NB(μ, θ_v).
"""

from __future__ import annotations

import time

import numpy as np

from fase.forecasters.base import FitReport, Forecaster, ForecastRequest, TrainingRequest
from fase.forecasters.data import ForecastData
from fase.forecasters.registry import ForecasterSettings, register
from fase.forecasters.statistical import (
    StatisticalForecaster,
    check_span,
    count_law,
    fit_dispersion,
    floored_mean,
    target_columns,
    train_span,
)
from fase.models.distributions import CountDistribution


class HistoricalAverage(StatisticalForecaster):
    """Mean count per (area, weekly slot) over training, NB(μ, θ_v) (module docstring).

    Retraining adds the request's target bins to the training bins of each slot; θ stays
    as fitted on the training counts (deployed records may be fractional).
    """

    name = "historical_average"

    def __init__(self) -> None:
        super().__init__()
        self.slot_mean: np.ndarray | None = None  # (N, W) incidents per bin
        self.theta: np.ndarray | None = None  # (N,)
        self._train_totals: np.ndarray | None = None  # (N, W) training incidents per slot
        self._train_bins: np.ndarray | None = None  # (W,) training bins per slot
        self._area_totals: np.ndarray | None = None  # (N,) training incidents

    def remember(self, data: ForecastData) -> None:
        super().remember(data)
        start, end = train_span(data)
        slot = data.season_index()[start:end]
        y = data.y[:, start:end].astype(np.float64)
        self._train_totals, self._train_bins = _slot_totals(y, slot, data.bins_per_week)
        self._area_totals = y.sum(axis=1)

    def _means(self, totals: np.ndarray, bins: np.ndarray, area_totals: np.ndarray) -> np.ndarray:
        """(N, W) slot means, the area mean where a slot has no bin (floored)."""
        area_mean = floored_mean(area_totals, int(bins.sum()))[:, None]
        return np.where(bins > 0, floored_mean(totals, np.maximum(bins, 1)), area_mean)

    def fit(self, data: ForecastData, *, seed: int, **_: object) -> FitReport:
        started = time.perf_counter()
        self.remember(data)
        assert self._train_totals is not None and self._train_bins is not None
        self.slot_mean = self._means(self._train_totals, self._train_bins, self._area_totals)
        start, end = train_span(data)
        slot = data.season_index()[start:end]
        self.theta = fit_dispersion(data.y[:, start:end], self.slot_mean[:, slot])
        return FitReport(
            seconds=time.perf_counter() - started,
            notes={"poisson_areas": int(np.isinf(self.theta).sum())},
        )

    def predict(self, data: ForecastData, start: int, end: int) -> CountDistribution:
        self.require_fitted(self.slot_mean is not None and self.theta is not None)
        check_span(data, start, end, len(self.slot_mean))
        mu = self.slot_mean[:, data.season_index()[start:end]]
        return count_law(mu.T, self.theta)

    def law(self, request: ForecastRequest) -> CountDistribution:
        self.require_fitted(self.slot_mean is not None and self.theta is not None)
        slots = self.season_slots(request.hour_of_week)
        mu = self.slot_mean[:, slots[request.columns]]
        return count_law(mu.T, self.theta)

    def retrain(self, request: TrainingRequest) -> list[float]:
        """Slot means over the training bins and the request's target bins."""
        self.require_fitted(self._train_totals is not None and self._train_bins is not None)
        if request.epochs == 0 or request.starts.size == 0:
            return []
        lo, hi = target_columns(request)
        weeks = self._train_bins.size
        slots = self.season_slots(request.hour_of_week)[lo:hi]
        y = np.asarray(request.counts[:, lo:hi], np.float64)
        totals, bins = _slot_totals(y, slots, weeks)
        self.slot_mean = self._means(
            self._train_totals + totals, self._train_bins + bins, self._area_totals + y.sum(axis=1)
        )
        return []

    def state(self) -> dict[str, np.ndarray]:
        self.require_fitted(self.slot_mean is not None and self.theta is not None)
        return {"slot_mean": self.slot_mean, "theta": self.theta}

    def restore(self, data: ForecastData, state: dict[str, np.ndarray]) -> None:
        self.remember(data)
        self.slot_mean, self.theta = state["slot_mean"], state["theta"]

    @property
    def num_parameters(self) -> int:
        return 0 if self.slot_mean is None else self.slot_mean.size + len(self.slot_mean)


def _slot_totals(y: np.ndarray, slot: np.ndarray, weeks: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, W) incidents per (area, slot) of y (N, T) and (W,) bins per slot."""
    n = len(y)
    cells = (np.arange(n)[:, None] * weeks + slot[None, :]).ravel()
    totals = np.bincount(cells, weights=y.ravel(), minlength=n * weeks).reshape(n, weeks)
    return totals, np.bincount(slot, minlength=weeks)


class SeasonalNaive(StatisticalForecaster):
    """The count a week earlier (a zero replaced by a fitted rate), NB(μ, θ_v).

    Reads W = a week of counts before each forecast bin (``history_steps``). Retraining
    re-estimates f_v and the area mean over the training bins and the request's target
    bins; θ stays as fitted on the training counts.
    """

    name = "seasonal_naive"

    def __init__(self) -> None:
        super().__init__()
        self.weeks = 168  # W, bins per week (set by fit or restore)
        self.zero_rate: np.ndarray | None = None  # (N,) f_v, mean after a week-old zero
        self.area_mean: np.ndarray | None = None  # (N,) training mean, for t < W
        self.theta: np.ndarray | None = None  # (N,)
        self._train_sums: tuple[np.ndarray, ...] | None = None

    @property
    def history_steps(self) -> int:
        return self.weeks

    def remember(self, data: ForecastData) -> None:
        super().remember(data)
        self.weeks = data.bins_per_week
        start, end = train_span(data, first=self.weeks)
        self._train_sums = _after_zero_sums(
            data.y[:, start:end].astype(np.float64),
            data.y[:, start - self.weeks : end - self.weeks],
        )

    def _mean(self, counts: np.ndarray, offset: int, start: int, end: int) -> np.ndarray:
        """(N, end − start) μ of bins [start, end) from ``counts`` (N, ·) whose column 0
        is bin ``offset``: the count a week earlier, f_v for a zero, the area mean for
        bins without a week-old count."""
        self.require_fitted(self.zero_rate is not None and self.area_mean is not None)
        mu = np.repeat(self.area_mean[:, None], end - start, axis=1)
        first = max(start, offset + self.weeks)
        if first < end:
            week_ago = counts[:, first - self.weeks - offset : end - self.weeks - offset]
            mu[:, first - start :] = np.where(
                week_ago > 0, week_ago.astype(np.float64), self.zero_rate[:, None]
            )
        return mu

    def _rates(self, sums: tuple[np.ndarray, ...]) -> None:
        total, bins, zero_total, zero_bins = sums
        self.area_mean = floored_mean(total, bins)
        self.zero_rate = np.where(
            zero_bins > 0, floored_mean(zero_total, np.maximum(zero_bins, 1)), self.area_mean
        )

    def fit(self, data: ForecastData, *, seed: int, **_: object) -> FitReport:
        started = time.perf_counter()
        self.remember(data)
        assert self._train_sums is not None
        self._rates(self._train_sums)
        start, end = train_span(data, first=self.weeks)
        mu = self._mean(data.y, 0, start, end)
        self.theta = fit_dispersion(data.y[:, start:end], mu)
        return FitReport(
            seconds=time.perf_counter() - started,
            notes={"poisson_areas": int(np.isinf(self.theta).sum())},
        )

    def predict(self, data: ForecastData, start: int, end: int) -> CountDistribution:
        self.require_fitted(self.theta is not None)
        check_span(data, start, end, len(self.theta))
        return count_law(self._mean(data.y, 0, start, end).T, self.theta)

    def law(self, request: ForecastRequest) -> CountDistribution:
        self.require_fitted(self.theta is not None)
        mu = self._mean(request.counts, request.offset, request.start, request.stop)
        return count_law(mu.T, self.theta)

    def retrain(self, request: TrainingRequest) -> list[float]:
        """f_v and the area mean over the training bins and the request's target bins
        that have a week-old count in the request."""
        self.require_fitted(self._train_sums is not None)
        if request.epochs == 0 or request.starts.size == 0:
            return []
        lo, hi = target_columns(request)
        lo = max(lo, self.weeks)
        if lo < hi:
            counts = np.asarray(request.counts, np.float64)
            added = _after_zero_sums(counts[:, lo:hi], counts[:, lo - self.weeks : hi - self.weeks])
            self._rates(tuple(a + b for a, b in zip(self._train_sums, added, strict=True)))
        return []

    def state(self) -> dict[str, np.ndarray]:
        self.require_fitted(self.theta is not None)
        return {"zero_rate": self.zero_rate, "area_mean": self.area_mean, "theta": self.theta}

    def restore(self, data: ForecastData, state: dict[str, np.ndarray]) -> None:
        self.remember(data)
        self.zero_rate, self.area_mean = state["zero_rate"], state["area_mean"]
        self.theta = state["theta"]

    @property
    def num_parameters(self) -> int:
        return 0 if self.theta is None else 3 * len(self.theta)


def _after_zero_sums(y: np.ndarray, week_ago: np.ndarray) -> tuple[np.ndarray, ...]:
    """Sufficient statistics of the seasonal-naive rates over cells y (N, T) with their
    counts a week earlier: (incidents (N,), bins, incidents after a zero (N,), such bins (N,))."""
    after_zero = week_ago == 0
    return (
        y.sum(axis=1),
        y.shape[1],
        (y * after_zero).sum(axis=1),
        after_zero.sum(axis=1),
    )


@register("historical_average")
def _historical_average(settings: ForecasterSettings) -> Forecaster:
    return HistoricalAverage()


@register("seasonal_naive")
def _seasonal_naive(settings: ForecasterSettings) -> Forecaster:
    return SeasonalNaive()
