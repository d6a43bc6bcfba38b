"""``fase compare`` and ``fase datasets`` against careless options and hostile dataset
files: refused before any work with one clear error (exit status 2), nothing written."""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

import pandas as pd
import pytest
import yaml
from tests.helpers.city import City, write_city
from tests.hostile.cli import refused


@pytest.fixture
def city(tmp_path: Path) -> City:
    frame = pd.DataFrame(
        {
            "time": ["2021-03-01 10:00:00", "2021-03-02 11:30:00", "2021-03-03 12:00:00"],
            "node": [1, 5, 9],
        }
    )
    return write_city(tmp_path / "city", frame, "2021-03-01", "2021-03-04", tz="UTC")


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data folder and user cache of the test's own, and no mirror."""
    root = tmp_path / "data-root"
    monkeypatch.setenv("FASE_DATA_ROOT", str(root))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("FASE_DATA_MIRROR", raising=False)
    return root


COMPARE = {
    "--models nope": (["--models", "nope"], "--models"),
    "--models that names nothing": (["--models", " , "], "--models"),
    "--bin 3x": (["--models", "historical_average", "--bin", "3x"], "--bin"),
    "--bin 0h": (["--models", "historical_average", "--bin", "0h"], "--bin"),
    "--benchmark nope": (["--benchmark", "nope"], "--benchmark"),
    "--benchmark hagen-la --bin 1h": (["--benchmark", "hagen-la", "--bin", "1h"], "--benchmark"),
    "--seed out of range": (["--models", "historical_average", "--seed", "-3"], "--seed"),
    "--out is a file": (["--models", "historical_average", "--out", "{config}"], "--out"),
}


@pytest.mark.parametrize("case", sorted(COMPARE))
def test_compare_refuses_before_any_work(case: str, city: City, tmp_path: Path) -> None:
    extra, names = COMPARE[case]
    out = tmp_path / "compare"
    args = [part.format(config=city.config) for part in extra]
    if "--benchmark" not in args:
        args += ["--config", str(city.config)]
    if "--out" not in args:
        args += ["--out", str(out)]
    refused("compare", *args, names=names)
    assert not out.exists()  # no data built, no half leaderboard


def hostile_dataset(city: City, path: str, folder: Path) -> Path:
    """A dataset YAML whose one file, fetched from a local "mirror", would be kept at
    ``path`` relative to the data folder (checksum and size correct)."""
    payload = b"#!/bin/sh\necho owned\n"
    source = folder / "payload.sh"
    source.write_bytes(payload)
    spec = yaml.safe_load(city.config.read_text())["dataset"]
    spec["files"] = [
        {
            "path": path,
            "sha256": hashlib.sha256(payload).hexdigest(),
            "bytes": len(payload),
            "url": source.as_uri(),
        }
    ]
    dataset = folder / "hostile.yaml"
    dataset.write_text(yaml.safe_dump(spec))
    return dataset


@pytest.mark.parametrize(
    "path", ["../escaped.sh", "city/../../escaped.sh", "{tmp}/escaped.sh", "~/escaped.sh"]
)
def test_fetch_keeps_files_inside_the_data_folder(
    path: str, city: City, folders: Path, tmp_path: Path
) -> None:
    """A dataset YAML cannot make ``fase datasets fetch`` write outside the data folder."""
    dataset = hostile_dataset(city, path.format(tmp=tmp_path), tmp_path)
    before = set(tmp_path.rglob("*"))
    refused("datasets", "fetch", dataset, names=("hostile.yaml", "files.0.path"))
    assert set(tmp_path.rglob("*")) == before
    assert not (Path.home() / "escaped.sh").exists()


@pytest.mark.parametrize(
    ("name", "names"),
    [("nope", "nope"), ("../" * 16 + "etc/passwd", "passwd"), ("hagen", "hagen")],
)
def test_fetch_unknown_dataset(name: str, names: str, folders: Path) -> None:
    line = refused("datasets", "fetch", name, names=names)
    assert "root:" not in line  # the file's content is not echoed


class _RunsCode:
    """Unpickling this runs ``touch MARKER``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


def test_benchmark_pickle_that_runs_code_is_refused(folders: Path, tmp_path: Path) -> None:
    """A "fetched" STHSL tensor file crafted to run a command is refused by the
    benchmark loader's restricted unpickler, naming the file; the command never runs."""
    from fase.data.benchmarks import benchmark_files

    marker = tmp_path / "pwned"
    for relative in benchmark_files("sthsl-chi"):
        path = folders / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps([_RunsCode(marker)]))
    out = tmp_path / "compare"
    args = ["--benchmark", "sthsl-chi", "--models", "historical_average", "--out", out]
    refused("compare", *args, "--quick", "--seeds", "1", names=".pkl")
    assert not marker.exists()
