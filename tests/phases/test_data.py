"""Phases 1–2 end to end on a hand-computed 3×3 grid city."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.helpers.city import METRE_LAT, ORIGIN, SIDE, cell_center, write_city

from fase.config import load_config
from fase.data.tensors import Tensors
from fase.graph import Graph
from fase.phases.data import run_data_phases

TZ = "America/Chicago"


def incidents() -> pd.DataFrame:
    """Incidents on 2016-11-05 .. 2016-11-07 (fall-back day 11-06), hand-placed."""
    rows = [
        ("2016-11-05 00:10:00", 1),
        ("2016-11-05 00:50:00", 1),
        ("2016-11-05 05:00:00", 5),
        ("2016-11-06 01:30:00", 2),  # ambiguous wall time: read as the first (CDT) 01:30
        ("2016-11-06 02:15:00", 9),  # node 9 has no demographics
        ("2016-11-07 23:59:00", 3),
        ("2016-11-07 23:59:00", 3),  # exact duplicate (kept by both presets)
        ("2016-11-08 00:00:00", 3),  # outside the calendar (end exclusive)
    ]
    frame = pd.DataFrame(rows, columns=["time", "node"])
    frame["lon"], frame["lat"] = np.array([cell_center(n) for n in frame["node"]]).T
    # exactly on the edge shared by nodes 1 and 2: the lowest index wins under covered_by
    boundary = {
        "time": "2016-11-05 10:20:00",
        "node": 0,
        "lon": ORIGIN[0] + SIDE,
        "lat": ORIGIN[1] + 0.5 * SIDE,
    }
    # 100 m south of node 2: outside every polygon, within the 200 m nearest-area radius
    gap = {
        "time": "2016-11-05 11:00:00",
        "node": 0,
        "lon": ORIGIN[0] + 1.5 * SIDE,
        "lat": ORIGIN[1] - 100 * METRE_LAT,
    }
    far = {
        "time": "2016-11-05 12:00:00",
        "node": 0,
        "lon": ORIGIN[0] + 1.5 * SIDE,
        "lat": ORIGIN[1] - 5000 * METRE_LAT,
    }
    return pd.concat([frame, pd.DataFrame([boundary, gap, far])], ignore_index=True)


@pytest.fixture
def city(tmp_path: Path):
    return write_city(tmp_path / "city", incidents(), "2016-11-05", "2016-11-08")


def test_default_preset_counts_every_incident_where_it_belongs(city, tmp_path: Path) -> None:
    cfg = load_config(config_path=city.config, preset="default")
    result = run_data_phases(cfg, tmp_path / "run")
    t = Tensors.load(tmp_path / "run")
    assert t.y.shape == (9, 24 + 25 + 24)  # 72 local hours + the repeated fall-back hour
    starts = t.starts()

    def at(node: int, local: str, first: bool = True) -> int:
        stamp = pd.Timestamp(local).tz_localize(TZ, ambiguous=first)
        return int(t.y[node - 1, starts.get_loc(stamp)])

    assert at(1, "2016-11-05 00:00") == 2
    assert at(5, "2016-11-05 05:00") == 1
    assert (
        at(2, "2016-11-06 01:00", first=True) == 1 and at(2, "2016-11-06 01:00", first=False) == 0
    )
    assert at(9, "2016-11-06 02:00") == 1
    assert at(3, "2016-11-07 23:00") == 2  # duplicates kept
    assert at(1, "2016-11-05 10:00") == 1  # boundary point → node 1 (lowest index)
    assert at(2, "2016-11-05 11:00") == 1  # nearest-area fallback
    assert int(t.y.sum()) == 9
    table = dict(result.phase1.table)
    assert table["Rows read"] == 11
    assert table["Rows dropped: outside_calendar"] == 1
    assert table["Incidents loaded"] == 10 and table["Incidents assigned to areas"] == 9
    assert table["Assigned by nearest-area fallback"] == 1
    assert table["Spatial nodes"] == 9
    assert t.meta["groups"][8] == "unknown" and t.meta["groups"][:2] == ["minority", "minority"]
    # Graph: Queen degrees 3 at corners, 5 on edges, 8 at the centre.
    graph = Graph.load(tmp_path / "run" / "graph" / "graph.npz")
    assert graph.A_geo.sum(axis=1).tolist() == [3, 5, 3, 5, 8, 5, 3, 5, 3]
    np.testing.assert_allclose(graph.A_combined.sum(axis=1), 1.0)  # default: row-normalised
    assert (
        graph.A_feat_thresh[8].sum() == 0 and graph.A_feat_thresh[:, 8].sum() == 0
    )  # unknown node


def test_paper_preset_drops_boundary_and_gap_points_and_trims_the_calendar(
    city, tmp_path: Path
) -> None:
    cfg = load_config(config_path=city.config, preset="paper")
    result = run_data_phases(cfg, tmp_path / "run")
    t = result.phase1.tensors
    table = dict(result.phase1.table)
    assert table["Incidents assigned to areas"] == 7  # boundary + gap + far points dropped
    # observed calendar: from the 00:00 bin of 11-05 to the 23:00 bin of 11-07
    assert t.y.shape[1] == 73
    assert t.meta["node_ids"] == ["1", "2", "3", "5", "9"]  # only incident-bearing areas
    assert t.meta["groups"][-1] == "majority"  # zero-filled demographics (the paper's behaviour)
    graph = result.graph
    assert graph.A_combined.diagonal().tolist() == [1.0] * 5
    assert graph.A_combined.sum(axis=1).max() > 1.5  # the paper leaves rows unnormalised


def test_artefacts_and_split(city, tmp_path: Path) -> None:
    cfg = load_config(config_path=city.config)
    run_data_phases(cfg, tmp_path / "run")
    data = tmp_path / "run" / "data"
    for name in ("tensors.npz", "meta.json", "areas.geojson", "table1.md", "table1.json"):
        assert (data / name).is_file()
    t = Tensors.load(tmp_path / "run")
    assert t.meta["split"] == {"train": [0, 51], "val": [51, 61], "test": [61, 73]}
    assert t.x.shape == (9, 73, 13) and t.meta["feature_names"][12] == "patrol_exposure"


def test_crime_type_channels_split_the_counts(tmp_path: Path) -> None:
    frame = incidents()
    frame["type"] = ["THEFT", "BATTERY"] * 5 + ["THEFT"]
    city = write_city(tmp_path / "city", frame, "2016-11-05", "2016-11-08")
    cfg = load_config(config_path=city.config, overrides={"data": {"crime_type_channels": True}})
    t = run_data_phases(cfg, tmp_path / "run").phase1.tensors
    assert t.meta["crime_types"] == ["VIOLENT", "THEFT"]  # BATTERY is VIOLENT
    assert t.y_types is not None and t.y_types.shape == (*t.y.shape, 2)
    np.testing.assert_array_equal(t.y_types.sum(axis=-1), t.y)
    assert int(t.y_types[..., 0].sum()) == 4  # BATTERY (VIOLENT) rows assigned to an area
    reloaded = Tensors.load(tmp_path / "run")
    np.testing.assert_array_equal(reloaded.y_types, t.y_types)
