"""Phase 4 on a run directory: artefacts written, bad inputs named by file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fase.allocation import AllocationConfig, solve_dir_lp
from fase.errors import FaseInputError
from fase.io import read_json, read_npz
from fase.phases.allocate import run_allocation

LABELS = ["minority"] * 3 + ["majority"] * 2 + ["unknown"]


def make_run(root: Path, labels: list[str] = LABELS, steps: int = 12) -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(0)
    expected = rng.gamma(0.8, 1.0, (steps, len(labels)))
    (root / "forecast").mkdir(parents=True)
    (root / "data").mkdir()
    np.savez(root / "forecast" / "forecast.npz", expected=expected, mu=2 * expected[::-1])
    (root / "data" / "meta.json").write_text(json.dumps({"groups": labels}))
    return root, expected


def test_writes_allocation_metrics_and_summary(tmp_path: Path) -> None:
    run, expected = make_run(tmp_path / "run")
    result = run_allocation(run, AllocationConfig(cap=25.0))
    out = run / "allocation" / "paper"
    patrol = read_npz(out / "allocation.npz")["patrol"]
    minority = np.array(LABELS) == "minority"
    majority = np.array(LABELS) == "majority"
    np.testing.assert_allclose(
        patrol, solve_dir_lp(expected, minority, cap=25.0, majority=majority)
    )
    table = pd.read_csv(out / "metrics.csv")
    assert len(table) == 12 and {"dir", "gini", "detection_gap", "risk_share"} <= set(table)
    summary = read_json(out / "summary.json")
    assert summary["groups"] == {"minority": 3, "majority": 2, "unknown": 1}
    assert summary["metrics"]["total_patrol"]["mean"] == pytest.approx(patrol.sum(1).mean())
    assert "| dir |" in (out / "summary.md").read_text()
    np.testing.assert_array_equal(result.patrol, patrol)


def test_mu_array_and_explicit_file(tmp_path: Path) -> None:
    run, expected = make_run(tmp_path / "run")
    result = run_allocation(run, AllocationConfig(policy="proportional", risk="mu"))
    np.testing.assert_allclose(result.patrol.sum(1), 60.0)
    assert result.summary["risk_key"] == "mu"
    np.savez(tmp_path / "custom.npz", scores=expected)
    result = run_allocation(run, AllocationConfig(), tmp_path / "custom.npz", "scores")
    assert result.summary["risk_file"].endswith("custom.npz")


@pytest.mark.parametrize(
    ("breakage", "culprit", "problem"),
    [
        (lambda r: (r / "forecast" / "forecast.npz").unlink(), "forecast.npz", "not found"),
        (
            lambda r: (r / "forecast" / "forecast.npz").write_text("x"),
            "forecast.npz",
            "cannot be read",
        ),
        (
            lambda r: np.savez(r / "forecast" / "forecast.npz", mu=np.ones((2, 6))),
            "forecast.npz",
            "no array",
        ),
        (
            lambda r: np.savez(r / "forecast" / "forecast.npz", expected=np.ones(6)),
            "forecast.npz",
            "(T steps",
        ),
        (
            lambda r: np.savez(r / "forecast" / "forecast.npz", expected=np.full((2, 6), np.nan)),
            "forecast.npz",
            "finite",
        ),
        (lambda r: (r / "data" / "meta.json").unlink(), "meta.json", "not found"),
        (lambda r: (r / "data" / "meta.json").write_text("{"), "meta.json", "JSON"),
        (lambda r: (r / "data" / "meta.json").write_text("{}"), "meta.json", "groups"),
        (
            lambda r: (r / "data" / "meta.json").write_text('{"groups": ["minority"]}'),
            "meta.json",
            "6 areas",
        ),
        (
            lambda r: (r / "data" / "meta.json").write_text(json.dumps({"groups": ["x"] * 6})),
            "meta.json",
            "label",
        ),
    ],
)
def test_bad_inputs_name_the_file(tmp_path: Path, breakage, culprit: str, problem: str) -> None:
    run, _ = make_run(tmp_path / "run")
    breakage(run)
    with pytest.raises(FaseInputError) as info:
        run_allocation(run, AllocationConfig())
    assert info.value.source.endswith(culprit)
    assert problem in info.value.problem
    assert not (run / "allocation").exists()


def test_floor_beyond_budget(tmp_path: Path) -> None:
    run, _ = make_run(tmp_path / "run")
    with pytest.raises(FaseInputError, match="--floor"):
        run_allocation(run, AllocationConfig(floor=11.0))
