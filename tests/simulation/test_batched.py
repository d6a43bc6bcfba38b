"""Replicates and policies simulated in lockstep with one batched retraining
(:func:`fase.simulation.runner.simulate_policies`, :func:`fase.forecasters.retrain_together`)
on a tiny trained FASE run: the same numbers as separate retrainings up to float32
rounding, and the same numbers for the same seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from tests.simulation.trained_run import write_trained_run

from fase.allocation.policies import make_policy
from fase.config.simulation import SimulationConfig
from fase.forecasters import (
    ForecastRequest,
    TrainingRequest,
    create,
    forecaster_settings,
    neural,
    retrain_together,
)
from fase.forecasters.neural import StackedForecasts
from fase.phases.simulate import SimulationRun, forecaster_factory, make_params
from fase.simulation.runner import simulate, simulate_policies
from fase.training.replicates import train_replicates

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> SimulationRun:
    return SimulationRun.load(write_trained_run(tmp_path_factory.mktemp("batched")))


def requests(run: SimulationRun, copies: int) -> list[TrainingRequest]:
    """Copy k retrains on the test days' counts thinned by 0.2·k, four 24-bin windows."""
    world, start = run.world, run.trained.tensors.split["test"][0]
    offset = start - 96
    x = world.true_features[:, offset:start]
    starts = offset + 24 * np.arange(4)
    return [
        TrainingRequest(offset, x, world.true_counts[:, offset:start] * (1 - 0.2 * k), starts,
                        window=24, epochs=2, batch_size=1)
        for k in range(copies)
    ]  # fmt: skip


def test_retrain_together_equals_each_copy_retrained_alone(
    run: SimulationRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def counted(jobs: list, **settings: object) -> list[list[float]]:
        calls.append(len(jobs))
        return train_replicates(jobs, **settings)

    monkeypatch.setattr(neural, "train_replicates", counted)
    make = forecaster_factory(run, CPU)
    batched = [make(seed) for seed in (11, 12, 13)]
    alone = [make(seed) for seed in (11, 12, 13)]
    for _ in range(2):  # the second call continues each copy's shuffle and dropout seeds
        asked = requests(run, 3)
        together = retrain_together(batched, asked)
        separate = [f.retrain(r) for f, r in zip(alone, asked, strict=True)]
        np.testing.assert_allclose(together, separate, rtol=1e-5)
    assert calls == [3, 3]  # one batched retraining of the three copies per call
    for a, b in zip(batched, alone, strict=True):
        for p, q in zip(a.module.parameters(), b.module.parameters(), strict=True):
            torch.testing.assert_close(p, q, rtol=0, atol=1e-5)
    first = batched[0].module.state_dict()
    second = batched[1].module.state_dict()
    assert any(not torch.equal(first[k], second[k]) for k in first)  # copies differ


def test_replicates_and_policies_in_lockstep(run: SimulationRun) -> None:
    """Binomial detection, 3 replicates × 2 policies: batched ≈ one after another, and
    the same seed gives the same numbers."""
    cfg = run.trained.cfg
    sim = SimulationConfig(
        cycles=2, period="1D", retrain_epochs=1, retrain_window=8, detection="binomial",
        replicates=3,
    )  # fmt: skip
    allocations = [
        cfg.allocation.model_copy(update={"policy": p}) for p in ("paper", "diminishing")
    ]
    params = make_params(sim, allocations[0], run)
    policies = [make_policy(a) for a in allocations]

    def study(batched: bool) -> list[pd.DataFrame]:
        results = simulate_policies(
            params, run.world, forecaster_factory(run, CPU), policies, seed=cfg.seed,
            replicates=3, batched=batched,
        )  # fmt: skip
        return [result.history for result in results]

    batched, again, alone = study(True), study(True), study(False)
    for b, a, s in zip(batched, again, alone, strict=True):
        pd.testing.assert_frame_equal(b, a, check_exact=True)
        # A pass of the fixed point settles every row whose allocation did not move; the
        # batched forward pass rounds a copy's forecast differently as lanes leave the
        # rounds, so the pass counts may differ while every number of the cycle agrees.
        numbers = [c for c in b.columns if not c.startswith("forecast_passes")]
        pd.testing.assert_frame_equal(
            b[numbers], s[numbers], check_exact=False, rtol=1e-4, atol=1e-6
        )
        assert b["forecast_passes"].between(1, 24).all()
    single = simulate(
        params, run.world, forecaster_factory(run, CPU), policies[1], seed=cfg.seed,
        replicates=3, batched=False,
    )  # fmt: skip
    pd.testing.assert_frame_equal(single.history, alone[1], check_exact=True)


GPU = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=GPU)])
def test_stacked_forecasts_equal_each_copy_forecasting_alone(
    run: SimulationRun, device: str
) -> None:
    """Three copies with different weights, forecasting different bins of their own
    records in one vectorised pass (all three, then two of them), equal their own
    forecasts; a forecaster of another kind in the same round forecasts alone, exactly."""
    make = forecaster_factory(run, torch.device(device))
    copies = [make(seed) for seed in (11, 12, 13)]
    retrain_together(copies, requests(run, 3))  # three different sets of weights
    average = create("historical_average", forecaster_settings(run.trained.cfg))
    average.fit(run.trained.data, seed=0)
    lanes = [*copies, average]
    world, start = run.world, run.trained.tensors.split["test"][0]
    warmup, history = copies[0].warmup_steps, copies[0].history_steps

    def request(lane: int) -> ForecastRequest:
        lo = start + 5 * lane  # each lane at its own bin, one geometry
        first = lo - warmup - history
        counts = world.true_counts[:, first : lo + 1] * (1 - 0.1 * lane)
        x = world.true_features[:, first : lo + 1]
        hours = world.features.hour_of_week(first, lo + 1)
        return ForecastRequest(first, x, counts, lo, lo + 1, warmup, hours)

    stacked = StackedForecasts(lanes)
    for asked in ([0, 1, 2, 3], [2, 0]):
        together = stacked.forecast(asked, [request(k) for k in asked])
        for k, forecast in zip(asked, together, strict=True):
            alone = lanes[k].forecast(request(k))
            assert (forecast.start, forecast.end) == (alone.start, alone.end)
            for name, values in alone.params.items():
                exact = 0.0 if k == 3 else (1e-5 if device == "cpu" else 1e-4)
                np.testing.assert_allclose(forecast.params[name], values, rtol=exact, atol=exact)
    means = [f.expected for f in stacked.forecast([0, 1, 2], [request(k) for k in range(3)])]
    assert not np.allclose(means[0], means[1])  # the copies' own weights were used
