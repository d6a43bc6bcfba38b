"""The policy study on a tiny trained run: one scenario per policy × floor, one table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.simulation.trained_run import write_trained_run

from fase.config.simulation import SimulationConfig
from fase.io import read_npz
from fase.phases.policy_study import STUDY_COLUMNS, run_policy_study, study_variants
from fase.phases.simulate import SimulationRun


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return SimulationRun.load(write_trained_run(tmp_path_factory.mktemp("study")))


def test_variants_cover_every_policy_with_and_without_a_floor(run):
    variants = study_variants(run.trained.cfg.allocation, floor=0.5)
    assert [(v.policy, v.floor) for v in variants] == [
        (p, f)
        for p in ("paper", "proportional", "diminishing", "detection_parity")
        for f in (0.0, 0.5)
    ]
    assert len(study_variants(run.trained.cfg.allocation, floor=0.0)) == 4


def test_policy_study_table_and_scenarios(run):
    sim = SimulationConfig(cycles=2, period="1D", retrain_epochs=1, retrain_window=8)
    table = run_policy_study(run, sim, run.trained.cfg.allocation, floor_share=0.5)
    floor = 0.5 * run.trained.cfg.allocation.budget / 9
    assert list(table["policy"]) == [
        p for p in ("paper", "proportional", "diminishing", "detection_parity") for _ in (0, 1)
    ]
    np.testing.assert_allclose(table["floor"], [0.0, floor] * 4)
    assert set(STUDY_COLUMNS) <= set(table.columns)
    on_disk = pd.read_csv(run.trained.run.policy_study_csv)
    pd.testing.assert_frame_equal(on_disk, table, check_exact=False, rtol=1e-12)
    assert run.trained.run.policy_study_md.read_text().count("| rolling-") == 8
    for name, row in zip(table["scenario"], table.itertuples(), strict=True):
        history = pd.read_csv(run.trained.run.scenario(name).history)
        assert row.detection_gap == pytest.approx(history["detection_gap"].mean())
        patrol = read_npz(run.trained.run.scenario(name).per_area)["mean_patrol"]
        assert patrol.min() >= row.floor - 1e-9
    paper = table.set_index("scenario").loc["rolling-paper"]
    assert paper["patrolled_areas_mean"] <= 2 + 1e-9  # the LP's two hot spots per bin


def test_parallel_workers_give_the_serial_numbers(run):
    """Unbatched, two worker processes (one thread each) reproduce the serial study
    exactly, and the batched study (every variant in one lockstep run) matches it up to
    float32 rounding of the batched retraining."""
    sim = SimulationConfig(cycles=1, period="1D", retrain_epochs=1, retrain_window=8, batched=False)
    serial = run_policy_study(run, sim, run.trained.cfg.allocation, floor_share=0.5)
    finished: list[str] = []
    parallel = run_policy_study(
        run, sim, run.trained.cfg.allocation, floor_share=0.5, workers=2, on_variant=finished.append
    )
    pd.testing.assert_frame_equal(parallel, serial, check_exact=True)
    assert sorted(finished) == sorted(serial["scenario"])
    batched_sim = sim.model_copy(update={"batched": True})
    batched = run_policy_study(run, batched_sim, run.trained.cfg.allocation, floor_share=0.5)
    pd.testing.assert_frame_equal(batched, serial, check_exact=False, rtol=1e-4, atol=1e-6)
