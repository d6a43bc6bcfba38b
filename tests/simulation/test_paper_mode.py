"""Paper mode reproduces the reference cycle (reference §5.2), leaks included."""

from __future__ import annotations

import numpy as np
from tests.simulation.stubs import N_BINS, START, MemorisingForecaster, make_params

from fase.allocation.policies import PaperPolicy
from fase.simulation.deployment import retrain_starts
from fase.simulation.metrics import PAPER_COLUMNS
from fase.simulation.runner import run_replicate, simulate

POLICY = PaperPolicy(budget=6.0, epsilon=0.05)


def _run(world, stub, **changes):
    params = make_params("paper", **changes)
    result = run_replicate(
        params, world, stub, POLICY, np.random.default_rng(0), keep_outcomes=True
    )
    return params, result


def test_every_cycle_forecasts_the_same_window_from_true_counts(world):
    stub = MemorisingForecaster(history=4)
    _run(world, stub, cycles=3)
    assert len(stub.requests) == 3  # one forward pass per cycle
    for request in stub.requests:
        assert (request.start, request.stop, request.warmup) == (START, N_BINS, 0)
        assert request.offset == START - 4  # P bins of Hawkes history, nothing more
        np.testing.assert_array_equal(request.counts, world.true_counts[:, START - 4 :])
        np.testing.assert_array_equal(request.x, world.true_features[:, START - 4 :])
    # every cycle after the first scores bins it has trained on (test-set leakage)
    kinds = [kind for kind, _ in stub.events]
    assert kinds == ["forecast", "train"] * 3
    trained = stub.events[1][1]
    assert len(stub.events[2][1] & trained) == 12 * 5  # all 12 windows of 5 bins are re-scored


def test_retraining_uses_non_overlapping_windows_of_observed_targets(world):
    stub = MemorisingForecaster(history=4)
    _, result = _run(world, stub, cycles=2, retrain_window=7)
    request = stub.training[0]
    np.testing.assert_array_equal(request.starts, START + 7 * np.arange(8))  # 60 bins → 8
    window = request.counts[:, START - request.offset :]
    np.testing.assert_allclose(window, result.outcomes[0].deployment.observed.T)
    np.testing.assert_array_equal(request.counts[:, :4], world.true_counts[:, START - 4 : START])
    np.testing.assert_array_equal(request.x, world.true_features[:, START - 4 :])


def test_observation_is_recomputed_from_the_truth_every_cycle(world):
    _, result = _run(world, MemorisingForecaster(), cycles=3)
    first = result.outcomes[0].deployment
    for outcome in result.outcomes[1:]:  # the stub does not learn: nothing compounds
        np.testing.assert_array_equal(outcome.deployment.observed, first.observed)
        np.testing.assert_array_equal(outcome.deployment.true, first.true)


def test_reference_row_columns_exactly(world):
    result = simulate(
        make_params("paper", cycles=2), world, lambda s: MemorisingForecaster(), POLICY, seed=0
    )
    assert tuple(result.paper_history.columns) == PAPER_COLUMNS
    assert list(result.paper_history["cycle"]) == [1, 2]
    assert (result.paper_history["dir_mean"].between(0.95 - 1e-9, 1.05 + 1e-9)).all()


def test_paper_windows_on_the_papers_shapes():
    starts = retrain_starts(22_338, 22_338 + 3_942, 64, align="start")
    assert starts.size == 61 and starts[0] == 22_338 and starts[-1] == 22_338 + 3_840
    ends = retrain_starts(100, 300, 64, align="end")
    np.testing.assert_array_equal(ends, [108, 172, 236])
