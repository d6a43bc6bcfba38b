"""A tiny synthetic world and a stub forecaster for the simulator's tests."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fase.allocation.groups import Groups
from fase.data.features import FeatureSpec, build_features
from fase.forecasters import ForecastRequest, TrainingRequest
from fase.simulation.params import FeatureMap, Params, World
from fase.training.forecast import SpanForecast

N_AREAS = 4
N_BINS = 120
START = 60
SPEC = FeatureSpec(lags=2, window_bins=(3, 6), window_names=("3h", "6h"))


def make_world(n_bins: int = N_BINS, seed: int = 0) -> World:
    """4 areas (minority 0, 1; majority 2, 3), hourly UTC bins, true counts ≥ 1 everywhere
    (so an observed count always differs from the true one), identity scaler."""
    rng = np.random.default_rng(seed)
    true = (rng.poisson(2.0, (N_AREAS, n_bins)) + 1).astype(float)
    starts = pd.date_range("2024-01-01", periods=n_bins, freq="h", tz="UTC")
    static = np.zeros((N_AREAS, 3))
    n_features = len(SPEC.names)
    scaler = {"mean": [0.0] * n_features, "std": [1.0] * n_features}
    features = FeatureMap(SPEC, starts, static, scaler)
    x = build_features(true, starts, static, SPEC)
    groups = Groups.from_minority(np.array([True, True, False, False]))
    bin_start = starts.asi8.astype(np.int64)
    return World(true, x, groups, features, bin_start)


def make_params(mode: str = "rolling", **changes) -> Params:
    settings = dict(
        mode=mode,
        cycles=3,
        start=START,
        period_bins=12 if mode == "rolling" else N_BINS - START,
        budget=6.0,
        detection="expected",
        risk="mu",
        retrain_epochs=2,
        retrain_window=5,
    )
    settings.update(changes)
    return Params(**settings)


@dataclass
class MemorisingForecaster:
    """A causal stub: Poisson(μ_t), μ_t = 0.5 + lag_1 feature (the count at t − 1) +
    0.1·exposure_t, with expected count 0.8·μ_t (as a zero-inflated model would have).

    It records every request, and in ``events`` the bins it scores ("forecast") and the
    target bins it trains on ("train"), in order.
    """

    history: int = 0
    warmup: int = 2
    requests: list[ForecastRequest] = field(default_factory=list)
    training: list[TrainingRequest] = field(default_factory=list)
    events: list[tuple[str, set[int]]] = field(default_factory=list)

    @property
    def history_steps(self) -> int:
        return self.history

    @property
    def warmup_steps(self) -> int:
        return self.warmup

    def forecast(self, request: ForecastRequest) -> SpanForecast:
        self.requests.append(request)
        self.events.append(("forecast", set(range(request.start, request.stop))))
        lag1 = request.x[:, request.columns, 0].astype(float)
        exposure = request.x[:, request.columns, -1].astype(float)
        mu = (0.5 + lag1 + 0.1 * exposure).T
        return SpanForecast(request.start, request.stop, {"mu": mu}, 0.8 * mu, "poisson")

    def retrain(self, request: TrainingRequest) -> list[float]:
        self.training.append(request)
        self.events.append(("train", {int(b) for b in request.target_bins}))
        return [1.0 / (k + 1) for k in range(request.epochs)]
