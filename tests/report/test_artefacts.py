"""Artefact discovery and the tolerant column lookup."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.report.fake_run import HISTORY, REFERENCE_HISTORY, write_fake_run

from fase.errors import FaseInputError
from fase.report import artefacts
from fase.rundir import RunDir


def test_reference_and_our_names_mean_the_same() -> None:
    table = artefacts.canonical_columns(REFERENCE_HISTORY, artefacts.HISTORY_ALIASES)
    pd.testing.assert_frame_equal(table, HISTORY.drop(columns="detection_gap"))


def test_interval_columns_follow_their_alias() -> None:
    table = pd.DataFrame(columns=["zinb_loss_mean", "zinb_loss_mean_lo", "zinb_loss_mean_hi"])
    renamed = artefacts.canonical_columns(table, artefacts.HISTORY_ALIASES)
    assert list(renamed.columns) == ["loss_mean", "loss_mean_lo", "loss_mean_hi"]


def test_a_canonical_column_wins_over_its_alias() -> None:
    table = pd.DataFrame({"loss_mean": [1.0], "zinb_loss_mean": [2.0]})
    renamed = artefacts.canonical_columns(table, artefacts.HISTORY_ALIASES)
    assert list(renamed.columns) == ["loss_mean", "zinb_loss_mean"]
    assert renamed["loss_mean"].item() == 1.0


def test_simulations_are_found_with_either_history_file(tmp_path: Path) -> None:
    write_fake_run(tmp_path)
    sims = {s.name: s for s in artefacts.simulations(RunDir(tmp_path))}
    assert set(sims) == {"baseline", "paper"}
    assert sims["paper"].history_file.name == "simulation_history.csv"
    pd.testing.assert_frame_equal(
        sims["paper"].history, HISTORY.drop(columns="detection_gap"), check_dtype=False
    )
    assert "dir_mean_lo" in sims["baseline"].history.columns
    assert sims["baseline"].per_area["detection_rate"].shape == (4, 6)
    assert sims["paper"].per_area is None


def test_history_is_sorted_by_cycle(tmp_path: Path) -> None:
    (tmp_path / "simulation").mkdir()
    HISTORY.iloc[::-1].to_csv(tmp_path / "simulation" / "history.csv", index=False)
    (sim,) = artefacts.simulations(RunDir(tmp_path))
    assert sim.name == "simulation"
    assert sim.history["cycle"].tolist() == [1, 2, 3, 4]


def test_epsilon_comes_from_the_config_then_the_allocation(tmp_path: Path) -> None:
    write_fake_run(tmp_path)
    assert artefacts.find_epsilon({"allocation": {"epsilon": 0.1}}, RunDir(tmp_path)) == (
        0.1,
        "config.yaml allocation.epsilon",
    )
    assert artefacts.find_epsilon({}, RunDir(tmp_path)) == (0.05, "allocation/paper/summary.json")
    assert artefacts.find_epsilon({}, RunDir(tmp_path / "elsewhere")) is None


def test_absent_artefacts_are_none_and_broken_ones_are_errors(tmp_path: Path) -> None:
    assert artefacts.training_log(RunDir(tmp_path)) is None
    assert artefacts.policy_study(RunDir(tmp_path)) is None
    assert artefacts.simulations(RunDir(tmp_path)) == []
    assert artefacts.areas(RunDir(tmp_path)) is None
    (tmp_path / "forecast").mkdir()
    (tmp_path / "forecast" / "forecast.npz").write_bytes(b"not a zip")
    with pytest.raises(FaseInputError, match=r"forecast\.npz"):
        artefacts.read_arrays(tmp_path / "forecast" / "forecast.npz")
    (tmp_path / "config.yaml").write_text("a: [1, 2\n")
    with pytest.raises(FaseInputError, match="not valid YAML"):
        artefacts.read_config(RunDir(tmp_path))


def test_mean_over_steps(tmp_path: Path) -> None:
    arrays = {"patrol": np.array([[1.0, 2.0], [3.0, np.nan]])}
    np.testing.assert_allclose(artefacts.mean_over_steps(arrays, "patrol", tmp_path), [2.0, 2.0])
    with pytest.raises(FaseInputError, match="no array 'expected'"):
        artefacts.mean_over_steps(arrays, "expected", tmp_path)


def test_minority_mask() -> None:
    meta = {"groups": ["minority", "majority", "unknown"]}
    np.testing.assert_array_equal(artefacts.minority_mask(meta, 3), [True, False, False])
    assert artefacts.minority_mask(meta, 4) is None
    assert artefacts.minority_mask(None, 3) is None
