"""Atomic writes: the old file survives a failed write; new files get the usual mode."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from fase.io import atomic_open, read_npz, write_npz, write_text


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = write_text(tmp_path / "a.txt", "old")
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_files_are_readable_by_others_under_the_umask(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        path = write_text(tmp_path / "b.txt", "x")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_npz_round_trip_refuses_object_arrays(tmp_path: Path) -> None:
    write_npz(tmp_path / "c.npz", {"a": np.arange(3)})
    np.testing.assert_array_equal(read_npz(tmp_path / "c.npz")["a"], [0, 1, 2])
    with pytest.raises(TypeError, match="pickle"):
        write_npz(tmp_path / "d.npz", {"bad": np.array([{"x": 1}], dtype=object)})
