"""``fase data`` against hostile and careless inputs: each is refused with one clear
error naming the file, field or row (exit status 2, no traceback), and what the failed
command leaves behind is refused by every command that reads a run.

(The malformed-file corpus of ``tests/cli/test_data_errors.py`` is not repeated here.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from tests.helpers.city import City, write_city
from tests.hostile.cli import invoke, nothing_usable, refused


def base_city(root: Path) -> City:
    frame = pd.DataFrame(
        {
            "time": ["2017-01-02 10:00:00", "2017-01-03 11:30:00", "2017-01-04 12:00:00"],
            "node": [1, 5, 9],
        }
    )
    return write_city(root, frame, "2017-01-02", "2017-01-05")


def edit(city: City, change: Callable[[dict], object]) -> None:
    """Apply ``change`` to the parsed config YAML and write it back."""
    config = yaml.safe_load(city.config.read_text())
    change(config)
    city.config.write_text(yaml.safe_dump(config))


def shift_polygons(city: City, degrees: float) -> None:
    collection = json.loads(city.polygons.read_text())
    for feature in collection["features"]:
        rings = feature["geometry"]["coordinates"]
        feature["geometry"]["coordinates"] = [
            [[x + degrees, y + degrees] for x, y in ring] for ring in rings
        ]
    city.polygons.write_text(json.dumps(collection))


def duplicate_area_id(city: City) -> None:
    collection = json.loads(city.polygons.read_text())
    collection["features"][1]["properties"]["area"] = collection["features"][0]["properties"][
        "area"
    ]
    city.polygons.write_text(json.dumps(collection))


def laughs(levels: int = 9) -> list[str]:
    """The anchors of a "billion laughs" document: ``l{levels-1}`` expands to 9**levels."""
    lines = ["l0: &l0 [" + ", ".join(['"lol"'] * 9) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return lines


def bomb_as_preset(city: City) -> None:
    """The aliases expand inside the preset name, which an error message would print."""
    anchors = "\n".join("  " + line for line in laughs(8))
    text = f"laughs:\n{anchors}\npreset: [{', '.join(['*l7'] * 9)}]\n"
    city.config.write_text(text + city.config.read_text())


def count_based_demographics(city: City, population: str) -> None:
    city.demographics.write_text(
        "area,pop,black,white_pct,income,poverty_pct\n"
        f"1,{population},60,10,20000,35\n2,200,20,60,30000,25\n3,300,30,80,90000,5\n"
    )

    def use_counts(config: dict) -> None:
        demographics = config["dataset"]["demographics"]
        del demographics["black_share"]
        demographics.update(black_count="black", population="pop")

    edit(city, use_counts)


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


INCIDENTS, AREAS, DEMOGRAPHICS, CONFIG = (
    "incidents.csv",
    "areas.geojson",
    "demographics.csv",
    "config.yaml",
)

# name → (what the hostile or careless user does, extra command-line arguments, what the
# error line must name)
CASES: dict[str, tuple[Callable[[City], object], list[str], str | tuple[str, ...]]] = {
    # -- the incident file -----------------------------------------------------------
    "random binary bytes as the incident CSV": (
        lambda c: c.incidents.write_bytes(np.random.default_rng(0).bytes(5000)),
        [],
        INCIDENTS,
    ),
    "NUL bytes in the incident header": (
        lambda c: replace_in(c.incidents, "Latitude", "Lati\x00tude"),
        [],
        INCIDENTS,
    ),
    "incident CSV saved as UTF-16": (
        lambda c: c.incidents.write_bytes(c.incidents.read_text().encode("utf-16")),
        [],
        INCIDENTS,
    ),
    "a single 50 MB line": (
        lambda c: c.incidents.write_bytes(b"x" * (50 * 2**20)),
        [],
        INCIDENTS,
    ),
    "incident path is a folder": (
        lambda c: None,
        ["--incidents", "{root}"],
        ("--incidents", "city"),
    ),
    # -- the polygons ----------------------------------------------------------------
    "invalid JSON in the polygon GeoJSON": (
        lambda c: c.polygons.write_text('{"type": "FeatureCollection", "features": [ {'),
        [],
        AREAS,
    ),
    "duplicate area ids": (duplicate_area_id, [], AREAS),
    "polygons overlapping no incident": (lambda c: shift_polygons(c, 10.0), [], AREAS),
    "polygons given as a folder": (
        lambda c: None,
        ["--polygons", "{root}"],
        ("--polygons", "city"),
    ),
    # -- the demographics ------------------------------------------------------------
    "negative share": (
        lambda c: replace_in(c.demographics, "80.0", "-80.0"),
        [],
        (DEMOGRAPHICS, "black_pct"),
    ),
    "share above 100% (share_scale 1 with percentages)": (
        lambda c: edit(c, lambda d: d["dataset"]["demographics"].update(share_scale=1)),
        [],
        DEMOGRAPHICS,
    ),
    "infinite income": (
        lambda c: replace_in(c.demographics, "20000", "inf"),
        [],
        DEMOGRAPHICS,
    ),
    "negative population": (lambda c: count_based_demographics(c, "-100"), [], DEMOGRAPHICS),
    # -- the config YAML -------------------------------------------------------------
    "billion laughs alias bomb as --config": (
        lambda c: c.config.write_text("\n".join(laughs()) + "\n" + c.config.read_text()),
        [],
        CONFIG,
    ),
    "alias bomb in the preset name": (bomb_as_preset, [], CONFIG),
    "recursive alias": (lambda c: c.config.write_text("seed: &s [*s]\n"), [], CONFIG),
    "nesting 5000 deep": (
        lambda c: c.config.write_text("seed: " + "[" * 5000 + "]" * 5000 + "\n"),
        [],
        CONFIG,
    ),
    "config is not UTF-8 text": (
        lambda c: c.config.write_bytes(b"\xff\xfe\xfa dataset: grid\n"),
        [],
        CONFIG,
    ),
    "config top level is a list": (
        lambda c: c.config.write_text("- dataset\n- grid\n"),
        [],
        CONFIG,
    ),
    "config given as a folder": (lambda c: None, ["--config", "{root}"], "folder"),
    "unknown section": (lambda c: edit(c, lambda d: d.update(nonsense={"x": 1})), [], "nonsense"),
    "unknown field in a section": (
        lambda c: edit(c, lambda d: d.update(training={"epochz": 3})),
        [],
        "training.epochz",
    ),
    "unknown dataset field": (
        lambda c: edit(c, lambda d: d["dataset"].update(colour="red")),
        [],
        "dataset.colour",
    ),
    "provenance that is not a list of paths": (
        lambda c: edit(c, lambda d: d["dataset"].update(provenance=[["a"], ["b"]])),
        [],
        CONFIG,
    ),
    "calendar end before start": (
        lambda c: edit(
            c, lambda d: d["dataset"].update(calendar={"start": "2017-01-05", "end": "2017-01-02"})
        ),
        [],
        "calendar",
    ),
    "bin 3x": (lambda c: edit(c, lambda d: d.update(data={"bin": "3x"})), [], "data.bin"),
    "bin 0h": (lambda c: edit(c, lambda d: d.update(data={"bin": "0h"})), [], "data.bin"),
    "seed in the config out of range": (lambda c: edit(c, lambda d: d.update(seed=-1)), [], "seed"),
    # -- the command line ------------------------------------------------------------
    "preset given as a path": (lambda c: None, ["--preset", "../datasets/chicago"], "preset"),
    "dataset name with path traversal": (
        lambda c: None,
        ["--dataset", "../" * 16 + "etc/passwd"],
        "passwd",
    ),
    "dataset in the config with path traversal": (
        lambda c: edit(c, lambda d: d.update(dataset="../../presets/quick")),
        [],
        ("quick", CONFIG),
    ),
    "negative --seed": (lambda c: None, ["--seed", "-1"], "--seed"),
    "--seed beyond 64 bits": (lambda c: None, ["--seed", str(2**64)], "--seed"),
    "--out is a file": (lambda c: None, ["--out", "{root}/incidents.csv"], "--out"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_input_is_refused_and_leaves_nothing_usable(case: str, tmp_path: Path) -> None:
    city = base_city(tmp_path / "city")
    corrupt, extra, names = CASES[case]
    corrupt(city)
    extra = [arg.format(root=city.root) for arg in extra]
    args = ["data", "--config", str(city.config), *extra]
    run_dir = tmp_path / "run"
    if "--out" not in extra:
        args += ["--out", str(run_dir)]
    refused(*args, names=names)
    nothing_usable(run_dir)


def test_big_line_is_not_echoed(tmp_path: Path) -> None:
    """The message about a one-line 50 MB file names its columns, cut short."""
    city = base_city(tmp_path / "city")
    city.incidents.write_bytes(b"y" * (50 * 2**20))
    line = refused("data", "--config", city.config, "--out", tmp_path / "run", names=INCIDENTS)
    assert len(line) < 1000, len(line)


def test_refused_graph_leaves_the_previous_run_intact(tmp_path: Path) -> None:
    """A config refused in Phase 2 (after Phase 1 succeeded in memory) writes nothing:
    the run's existing tensors and graph are those of its last good ``fase data``."""
    city = base_city(tmp_path / "city")
    run_dir = tmp_path / "run"
    code, output = invoke("data", "--config", city.config, "--out", run_dir)
    assert code == 0, output
    written = {
        path: path.read_bytes()
        for path in (run_dir / "data" / "tensors.npz", run_dir / "graph" / "graph.npz")
    }
    replace_in(city.incidents, "2017-01-03 11:30:00", "2017-01-03 15:30:00")
    edit(city, lambda d: d.update(graph={"theta": 0.0}))
    refused("data", "--config", city.config, "--out", run_dir, names="graph.theta")
    assert {path: path.read_bytes() for path in written} == written

    fresh = tmp_path / "fresh"
    refused("data", "--config", city.config, "--out", fresh, names="graph.theta")
    nothing_usable(fresh)
