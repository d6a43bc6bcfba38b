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
from fase.forecasters import TrainingRequest, neural, retrain_together
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
        pd.testing.assert_frame_equal(b, s, check_exact=False, rtol=1e-4, atol=1e-6)
    single = simulate(
        params, run.world, forecaster_factory(run, CPU), policies[1], seed=cfg.seed,
        replicates=3, batched=False,
    )  # fmt: skip
    pd.testing.assert_frame_equal(single.history, alone[1], check_exact=True)
