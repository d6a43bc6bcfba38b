"""Params, World's feature map, and State, each on its own."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import numpy as np
import pandas as pd
import pytest
from tests.simulation.stubs import N_BINS, SPEC, START, make_params

from fase.data.features import FeatureSpec, build_features
from fase.simulation.params import FeatureMap
from fase.simulation.state import initial_state


def test_periods_follow_each_other_in_rolling_mode():
    params = make_params("rolling", period_bins=12, cycles=3)
    assert [params.period(k) for k in range(3)] == [(60, 72), (72, 84), (84, 96)]
    assert params.end == 96


def test_paper_mode_reuses_the_same_window():
    params = make_params("paper", cycles=6)
    assert {params.period(k) for k in range(6)} == {(START, N_BINS)}


def test_params_are_frozen_and_checked():
    params = make_params()
    with pytest.raises(FrozenInstanceError):
        params.cycles = 2  # type: ignore[misc]
    with pytest.raises(ValueError):
        make_params(p_base=0.9, p_max=0.3)
    with pytest.raises(ValueError):
        make_params(cycles=0)


@pytest.mark.parametrize("head", ["available", "pandas_fill"])
@pytest.mark.parametrize("lo", [0, 1, 5, 6, 7, 40])
def test_feature_map_slices_equal_the_whole_series(head, lo):
    rng = np.random.default_rng(4)
    counts = rng.poisson(1.5, (3, 80)).astype(float)
    exposure = rng.uniform(0, 10, (3, 80))
    starts = pd.date_range("2023-03-25", periods=80, freq="h", tz="Europe/Berlin")
    static = rng.uniform(size=(3, 3))
    spec = FeatureSpec(lags=3, window_bins=(4, 6), window_names=("4h", "6h"), rolling_head=head)
    scaler = {"mean": list(rng.normal(size=13)), "std": list(rng.uniform(1, 2, 13))}
    whole = build_features(counts, starts, static, spec, exposure)
    expected = (whole - np.array(scaler["mean"], np.float32)) / np.array(scaler["std"], np.float32)
    part = FeatureMap(spec, starts, static, scaler)(counts, exposure, lo, 70)
    np.testing.assert_allclose(part, expected[:, lo:70], rtol=1e-6, atol=1e-6)


def test_feature_map_reads_no_bin_at_or_after_hi(world):
    counts = world.true_counts.copy()
    counts[:, 50:] = np.nan
    x = world.features(counts, np.zeros_like(counts), 30, 50)
    assert not np.isnan(x).any()
    assert x.shape == (4, 20, len(SPEC.names))


def test_world_features_of_the_truth_are_the_true_features(world):
    rebuilt = world.features(world.true_counts, np.zeros_like(world.true_counts), 0, N_BINS)
    np.testing.assert_array_equal(rebuilt, world.true_features)


def test_initial_state_holds_history_only(world):
    state = initial_state(make_params(), world, np.random.default_rng(0))
    np.testing.assert_array_equal(state.observed[:, :START], world.true_counts[:, :START])
    assert np.isnan(state.observed[:, START:]).all()
    assert not state.patrol.any() and state.cycle == 0 and state.deployed_end == START


def test_record_returns_a_new_state(world):
    state = initial_state(make_params(), world, np.random.default_rng(0))
    later = state.record(60, 62, np.full((4, 2), 0.5), np.full((4, 2), 3.0))
    assert later.cycle == 1 and later.deployed_end == 62
    np.testing.assert_array_equal(later.observed[:, 60:62], 0.5)
    np.testing.assert_array_equal(later.patrol[:, 60:62], 3.0)
    assert np.isnan(state.observed[:, 60:62]).all() and not state.patrol.any()
    assert state.advance().cycle == 1
