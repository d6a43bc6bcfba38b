"""``benchmarks/same_artefacts.py``, the check that a restructuring changed no number:
equal runs pass, a changed bit, a changed table cell or a missing artefact fail, and
wall times, dates and added fields are passed over."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from fase.io import write_json, write_npz, write_text

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "same_artefacts.py"
spec = importlib.util.spec_from_file_location("same_artefacts", SCRIPT)
same_artefacts = importlib.util.module_from_spec(spec)
spec.loader.exec_module(same_artefacts)


def write_run(root: Path, value: float = 0.25, seconds: float = 1.0, cell: str = "3") -> Path:
    write_npz(root / "forecast" / "forecast.npz", {"mu": np.array([[value, 1.0]])})
    write_text(root / "training_log.csv", f"epoch,val_loss,seconds\n1,{cell},{seconds}\n")
    write_json(root / "allocation" / "paper" / "summary.json", {"dir": value, "seconds": seconds})
    return root


def verdicts(a: Path, b: Path) -> dict[str, str]:
    return dict(same_artefacts.compare_runs(a, b))


def test_equal_runs_match_whatever_their_wall_times(tmp_path: Path) -> None:
    a = write_run(tmp_path / "a")
    b = write_run(tmp_path / "b", seconds=9.0)
    (b / "model").mkdir()
    write_json(b / "model" / "forecaster.json", {"name": "fase"})
    result = verdicts(a, b)
    assert set(result.values()) == {"same", "new"} and result["model/forecaster.json"] == "new"
    assert same_artefacts.main([str(a), str(b)]) == 0


@pytest.mark.parametrize(
    ("changes", "artefact"),
    [
        ({"value": 0.25 + 2**-52}, "forecast/forecast.npz"),
        ({"cell": "4"}, "training_log.csv"),
    ],
)
def test_one_changed_number_is_found(tmp_path: Path, changes, artefact) -> None:
    a = write_run(tmp_path / "a")
    b = write_run(tmp_path / "b", **changes)
    assert verdicts(a, b)[artefact] == "DIFFERENT"
    assert same_artefacts.main([str(a), str(b)]) == 1


def test_a_missing_artefact_or_field_is_found(tmp_path: Path) -> None:
    a = write_run(tmp_path / "a")
    b = write_run(tmp_path / "b")
    (b / "training_log.csv").unlink()
    summary = b / "allocation" / "paper" / "summary.json"
    summary.write_text(json.dumps({"seconds": 1.0}))
    result = verdicts(a, b)
    assert result["training_log.csv"] == "missing"
    assert result["allocation/paper/summary.json"] == "DIFFERENT"
