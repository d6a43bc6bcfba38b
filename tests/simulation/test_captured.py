"""Paper-mode simulations whose retraining replays a captured step
(``simulation.capture``, :mod:`fase.training.captured`) against the eager retraining.

On the CPU no graph is captured; the forecaster is made to take the captured path
anyway (its step function then runs eagerly over the static buffers), which covers the
plumbing: one step built per forecaster and reused every cycle, the observed counts
copied into its buffers, a fresh Adam per cycle. The histories must be identical.
On a GPU (skipped without one) the graph is captured and replayed; the histories must
agree with the eager GPU simulation to 1e-5 relative.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from tests.simulation.trained_run import write_trained_run

from fase.allocation.policies import make_policy
from fase.config.simulation import SimulationConfig
from fase.forecasters import neural, retrain_together
from fase.phases.simulate import SimulationRun, forecaster_factory, make_params
from fase.simulation.runner import simulate
from fase.training.captured import CapturedStep, CaptureError
from fase.training.replicates import train_replicates


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> SimulationRun:
    return SimulationRun.load(write_trained_run(tmp_path_factory.mktemp("captured")))


def paper_history(run: SimulationRun, device: str, capture: bool) -> pd.DataFrame:
    """Two paper-mode cycles of two epochs on three 24-bin windows (batch of one): the
    history and the reference rows (with the retraining losses) side by side."""
    sim = SimulationConfig(
        mode="paper", cycles=2, retrain_epochs=2, retrain_window=24, capture=capture
    )
    allocation = run.trained.cfg.allocation
    params = make_params(sim, allocation, run)
    assert params.capture is capture
    result = simulate(
        params, run.world, forecaster_factory(run, torch.device(device)),
        make_policy(allocation), seed=run.trained.cfg.seed,
    )  # fmt: skip
    return pd.concat([result.history, result.paper_history], axis=1)


def counted_steps(monkeypatch: pytest.MonkeyPatch) -> list[CapturedStep]:
    """Every CapturedStep the forecasters build, in order."""
    built: list[CapturedStep] = []

    def build(*args: object, **kwargs: object) -> CapturedStep:
        built.append(CapturedStep(*args, **kwargs))  # type: ignore[arg-type]
        return built[-1]

    monkeypatch.setattr(neural, "CapturedStep", build)
    return built


def test_captured_path_gives_the_eager_numbers_on_cpu(
    run: SimulationRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    eager = paper_history(run, "cpu", capture=True)  # the CPU never captures
    built = counted_steps(monkeypatch)
    monkeypatch.setattr(neural, "capture_supported", lambda device: True)
    stepped = paper_history(run, "cpu", capture=True)
    assert len(built) == 1  # one step, reused by the second cycle
    assert built[0].graph is None
    pd.testing.assert_frame_equal(stepped, eager, check_exact=True)
    assert eager["zinb_loss_final"].notna().all()


def test_a_step_that_fails_to_capture_retrains_eagerly(
    run: SimulationRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[int] = []

    def fail(*args: object, **kwargs: object) -> CapturedStep:
        attempts.append(1)
        raise CaptureError("the retraining step cannot be captured: host read")

    eager = paper_history(run, "cpu", capture=False)
    monkeypatch.setattr(neural, "capture_supported", lambda device: True)
    monkeypatch.setattr(neural, "CapturedStep", fail)
    with pytest.warns(RuntimeWarning, match="retraining eagerly"):
        fallen = paper_history(run, "cpu", capture=True)
    assert attempts == [1]  # not tried again in the second cycle
    pd.testing.assert_frame_equal(fallen, eager, check_exact=True)


def test_copies_with_captured_steps_retrain_one_after_another(
    run: SimulationRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where steps are captured, three copies retrain each with its own captured step
    (faster on a GPU than one batched model), with their separate numbers."""
    batched: list[int] = []

    def counted(jobs: list, **settings: object) -> list[list[float]]:
        batched.append(len(jobs))
        return train_replicates(jobs, **settings)

    monkeypatch.setattr(neural, "train_replicates", counted)
    make = forecaster_factory(run, torch.device("cpu"))
    world, start = run.world, run.trained.tensors.split["test"][0]
    request = make_params(
        SimulationConfig(mode="paper", retrain_epochs=1, retrain_window=24),
        run.trained.cfg.allocation, run,
    ).retraining(start - 72, world.true_features[:, start - 72 : start],
                 world.true_counts[:, start - 72 : start], start - 72 + 24 * np.arange(3),
                 np.zeros(72, np.int64))  # fmt: skip
    alone = [make(seed).retrain(request) for seed in (1, 2, 3)]
    retrain_together([make(seed) for seed in (1, 2, 3)], [request] * 3)
    assert batched == [3]  # without capture: one batched model
    monkeypatch.setattr(neural, "capture_supported", lambda device: True)
    together = retrain_together([make(seed) for seed in (1, 2, 3)], [request] * 3)
    assert batched == [3]  # with captured steps: no batched retraining
    assert together == alone
    uneven = replace(request, batch_size=2)  # 3 windows: a last minibatch of one
    assert not make(1).captures(uneven)
    retrain_together([make(seed) for seed in (1, 2, 3)], [uneven] * 3)
    assert batched == [3, 3]  # no captured step replays it: one batched model again


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_gpu_paper_simulation_captured_equals_eager_cuda(
    run: SimulationRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    eager = paper_history(run, "cuda", capture=False)
    built = counted_steps(monkeypatch)
    captured = paper_history(run, "cuda", capture=True)
    assert len(built) == 1 and built[0].graph is not None
    pd.testing.assert_frame_equal(captured, eager, check_exact=False, rtol=1e-5, atol=1e-7)
