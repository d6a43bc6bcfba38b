"""Chronological split, train-only scaling, artefacts without pickle."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fase.data.tensors import Tensors, apply_scaler, fit_scaler, split_bounds
from fase.rundir import RunDir


def test_split_matches_the_paper_sizes() -> None:
    bounds = split_bounds(26_280, (0.70, 0.15, 0.15))
    assert bounds == {"train": (0, 18_396), "val": (18_396, 22_338), "test": (22_338, 26_280)}


def test_scaler_uses_training_part_only() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(5, 100, 3)).astype(np.float32)
    scaled = np.array([True, True, False])
    scaler = fit_scaler(x[:, :70], scaled)
    x_changed = x.copy()
    x_changed[:, 70:] += 1000.0  # val/test values must not move the statistics
    assert fit_scaler(x_changed[:, :70], scaled) == scaler
    np.testing.assert_allclose(scaler["mean"][:2], x[:, :70, :2].reshape(-1, 2).mean(0), rtol=1e-6)
    assert scaler["mean"][2] == 0.0 and scaler["std"][2] == 1.0
    z = apply_scaler(x[:, :70], scaler)
    np.testing.assert_allclose(z[..., :2].reshape(-1, 2).std(0), 1.0, rtol=1e-5)


def test_constant_feature_gets_unit_std() -> None:
    scaler = fit_scaler(np.zeros((2, 10, 1), np.float32), np.array([True]))
    assert scaler["std"] == [1.0]


def test_save_load_round_trip_without_pickle(tmp_path: Path) -> None:
    meta = {
        "split": {"train": [0, 6], "val": [6, 8], "test": [8, 10]},
        "timezone": "UTC",
        "scaler": {"mean": [0.0], "std": [1.0]},
        "node_ids": ["a", "b"],
    }
    t = Tensors(
        x=np.ones((2, 10, 1), np.float32),
        y=np.arange(20, dtype=np.int32).reshape(2, 10),
        bin_start=np.arange(10, dtype=np.int64) * 3_600_000_000_000,
        meta=meta,
    )
    t.save(RunDir(tmp_path))
    with np.load(tmp_path / "data" / "tensors.npz", allow_pickle=False) as data:
        assert set(data.files) == {"x", "y", "bin_start"}
    back = Tensors.load(tmp_path)
    np.testing.assert_array_equal(back.y, t.y)
    x_val, y_val = back.part("val")
    assert x_val.shape == (2, 2, 1) and y_val.tolist() == [[6, 7], [16, 17]]
    assert not list(tmp_path.rglob(".*tmp"))  # no temporary files left behind
