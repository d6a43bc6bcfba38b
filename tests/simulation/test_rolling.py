"""Rolling mode: no period is scored after being trained on, inputs are observed counts
only, the within-period fixed point equals an hour-by-hour simulation, and runs are
reproducible."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from tests.simulation.stubs import START, MemorisingForecaster, make_params

from fase.allocation.policies import PaperPolicy, ProportionalPolicy
from fase.forecasters import ForecastRequest
from fase.simulation.detection import draw_incidents, observe
from fase.simulation.lockstep import work_alone
from fase.simulation.rolling import PassInputs, deploy_period
from fase.simulation.runner import run_replicate, simulate
from fase.simulation.state import initial_state
from fase.simulation.step import step

POLICY = PaperPolicy(budget=6.0, epsilon=0.05)


def _run(world, forecaster, **changes):
    params = make_params("rolling", **changes)
    rng = np.random.default_rng(0)
    return params, run_replicate(params, world, forecaster, POLICY, rng, keep_outcomes=True)


@pytest.mark.parametrize("history", [0, 5])
def test_never_scores_a_bin_it_has_trained_on(world, history):
    stub = MemorisingForecaster(history=history)
    _run(world, stub, cycles=4)
    trained: set[int] = set()
    scored = 0
    for kind, bins in stub.events:
        if kind == "train":
            trained |= bins
        else:
            assert not bins & trained
            scored += 1
    assert scored >= 4 and trained  # it did forecast and train


def test_trains_only_on_deployed_observed_bins(world):
    stub = MemorisingForecaster()
    params, _ = _run(world, stub, cycles=3)
    for cycle, request in enumerate(stub.training):
        stop = params.period(cycle)[1]
        bins = request.target_bins
        assert bins.min() >= START and bins.max() < stop
        assert stop - 1 in bins  # the newest bins are used (windows aligned to the end)
        targets = request.counts[:, bins - request.offset]
        assert np.all(targets < world.true_counts[:, bins])  # observed, never true
    # retraining sees every previous period again: windows of 5 over 12, 24, 36 bins
    assert [r.starts.size for r in stub.training] == [2, 4, 7]


def test_forecast_inputs_hold_only_observed_counts(world):
    stub = MemorisingForecaster(history=3)
    params, result = _run(world, stub, cycles=3)
    final = {}
    for request in stub.requests:
        cycle = (request.start - START) // params.period_bins
        final[cycle] = request  # the last pass of each period
        bins = np.arange(request.offset, request.stop)
        deployed = bins >= START
        counts = request.counts
        np.testing.assert_array_equal(counts[:, ~deployed], world.true_counts[:, bins[~deployed]])
        assert np.all(counts[:, deployed] < world.true_counts[:, bins[deployed]])
        # lag_1 feature = the record at t − 1 (identity scaler)
        np.testing.assert_allclose(request.x[:, 1:, 0], counts[:, :-1], rtol=1e-6)
    record = np.concatenate([o.deployment.observed for o in result.outcomes]).T
    patrol = np.concatenate([o.deployment.patrol for o in result.outcomes]).T
    for request in final.values():
        # at the end of a period every input bin but the last holds its final record
        bins = np.arange(max(request.offset, START), request.stop - 1)
        lo = bins[0] - request.offset
        np.testing.assert_allclose(request.counts[:, lo:-1], record[:, bins - START], rtol=1e-6)
        exposure = request.x[:, lo + 1 :, -1]  # patrol of the bin before, per bin
        np.testing.assert_allclose(exposure, patrol[:, bins - START], rtol=1e-6)


def _hour_by_hour(params, world, state, policy, draws):
    """Independent reference for period 0: forecast, allocate and observe one bin at a
    time, each forecast reading the record up to the bin before it."""
    start, stop = params.period(0)
    true = world.true_counts[:, start:stop].T
    record, exposure = state.observed.copy(), state.patrol.copy()
    stub = MemorisingForecaster()
    first = max(0, start - stub.warmup)
    for t in range(start, stop):
        known = np.nan_to_num(record[:, : t + 1])  # bin t itself is not read (causal)
        x = world.features(known, exposure, first, t + 1)
        mu = stub.forecast(ForecastRequest(first, x, known[:, first:], t, t + 1, 2)).mu
        exposure[:, t] = policy.allocate(mu, world.groups)[0]
        patrol = exposure[:, start:stop].T  # rows after t are still 0; cells are independent
        observed = observe(true, patrol, params.budget, params.p_base, params.p_max, draws)[1]
        record[:, t] = observed[t - start]
    return exposure[:, start:stop].T, record[:, start:stop].T


@pytest.mark.parametrize("block", [None, 5])
@pytest.mark.parametrize("detection", ["expected", "binomial"])
@pytest.mark.parametrize("policy", [POLICY, ProportionalPolicy(budget=6.0)])
def test_fixed_point_equals_hour_by_hour_deployment(world, detection, policy, block):
    params = make_params("rolling", detection=detection, forecast_block=block)
    state = initial_state(params, world, np.random.default_rng(7))
    start, stop = params.period(0)
    stub = MemorisingForecaster()
    dep = work_alone(
        deploy_period(params, world, state, stub, policy, start, stop), stub, world.groups
    )
    true = world.true_counts[:, start:stop].T
    draws = draw_incidents(true, np.random.default_rng(7)) if detection == "binomial" else None
    patrol, observed = _hour_by_hour(params, world, state, policy, draws)
    np.testing.assert_allclose(dep.patrol, patrol, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dep.observed, observed, rtol=1e-12, atol=1e-12)
    assert 1 < dep.passes <= stop - start
    # the forecast of each bin is the one its allocation was made from
    np.testing.assert_allclose(policy.allocate(dep.risk, world.groups), dep.patrol)
    counts = np.rint(dep.true)
    np.testing.assert_allclose(
        dep.forecast.log_prob(counts), stats.poisson.logpmf(counts, dep.risk)
    )


def test_observed_counts_compound_across_cycles(world):
    _, result = _run(world, MemorisingForecaster(), cycles=2)
    # the second period's first forecast reads the first period's observed counts
    first, second = result.outcomes
    np.testing.assert_allclose(
        second.deployment.forecast.mu[0],
        0.5 + first.deployment.observed[-1] + 0.1 * first.deployment.patrol[-1],
    )


def test_expected_mode_is_deterministic(world):
    runs = [
        simulate(make_params(), world, lambda s: MemorisingForecaster(), POLICY, seed=s).history
        for s in (1, 2)
    ]
    pd.testing.assert_frame_equal(runs[0], runs[1])


def test_binomial_replicates_are_reproducible_by_seed(world):
    params = make_params(detection="binomial", cycles=2)

    def run(seed):
        return simulate(
            params, world, lambda s: MemorisingForecaster(), POLICY, seed=seed, replicates=3
        )

    a, b, c = run(5), run(5), run(6)
    pd.testing.assert_frame_equal(a.history, b.history)
    assert not a.history.equals(c.history)
    totals = [r.rows[0]["observed_total"] for r in a.replicates]
    assert len(set(totals)) == 3  # replicates differ from each other
    assert {"detection_gap_lo", "detection_gap_hi"} <= set(a.history.columns)
    assert np.all(a.history["detection_gap_lo"] <= a.history["detection_gap_hi"])


def test_step_refuses_to_run_past_the_last_cycle(world):
    params = make_params(cycles=1)
    state = initial_state(params, world, np.random.default_rng(0))
    state, _ = step(params, world, state, MemorisingForecaster(), POLICY)
    with pytest.raises(ValueError, match="cycles"):
        step(params, world, state, MemorisingForecaster(), POLICY)


def test_too_many_cycles_for_the_data(world):
    from fase.errors import FaseInputError

    with pytest.raises(FaseInputError, match="cycle 6"):
        _run(world, MemorisingForecaster(), cycles=6)


def test_pass_inputs_equal_features_built_from_scratch(world):
    """The features a pass reuses (bins whose inputs are settled) equal a fresh build from
    the pass's record, at every pass of a sequence that settles 1 to 5 rows at a time."""
    params = make_params("rolling")
    state = initial_state(params, world, np.random.default_rng(0))
    start, stop = params.period(0)
    length = stop - start
    rng = np.random.default_rng(3)
    final_observed = rng.poisson(1.5, (length, 4)).astype(float)
    final_patrol = rng.uniform(0, 3, (length, 4))
    stub = MemorisingForecaster(history=2)
    inputs = PassInputs(world, state, stub, start, stop)
    for settled in (0, 1, 4, 5, 6, 11):
        observed, patrol = final_observed.copy(), final_patrol.copy()
        observed[settled:] = rng.poisson(1.5, (length - settled, 4))  # unsettled: any iterate
        patrol[settled:] = rng.uniform(0, 3, (length - settled, 4))
        lo = start + settled
        request = inputs.request(observed, patrol, lo, stop)
        record, exposure = state.observed.copy(), state.patrol.copy()
        record[:, start:stop], exposure[:, start:stop] = observed.T, patrol.T
        expected = world.features(record, exposure, request.offset, stop)
        np.testing.assert_array_equal(request.x, expected)
        np.testing.assert_array_equal(request.counts, record[:, request.offset : stop])
        assert request.offset == max(0, lo - stub.warmup_steps - stub.history_steps)
