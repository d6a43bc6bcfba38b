"""Your own city from the command line: ``--incidents`` in every known portal format is
recognised by its header and gives that file's counts over its own period; an unknown
header stops with one line naming its columns; ``--polygons`` and ``--demographics``
replace the config's files; every command that builds data takes the flags."""

from __future__ import annotations

import io
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import yaml
from shapely.geometry import box
from tests.helpers.city import ORIGIN, SIDE, TINY_TRAINING, cell_center, grid_polygons, write_city
from typer.testing import CliRunner

from fase.cli import app
from fase.data.tensors import Tensors
from fase.io import read_json

# Eight incidents over three days (UTC), in cells 1, 2, 5, 5, 9, 9, 9, 3.
TIMES = pd.to_datetime(
    [
        "2021-03-01 00:30",
        "2021-03-01 13:05",
        "2021-03-02 02:00",
        "2021-03-02 02:40",
        "2021-03-02 23:59",
        "2021-03-03 08:15",
        "2021-03-03 08:20",
        "2021-03-03 19:00",
    ]
)
NODES = [1, 2, 5, 5, 9, 9, 9, 3]


def lat_lon() -> tuple[list[float], list[float]]:
    centres = [cell_center(n) for n in NODES]
    return [lat for _, lat in centres], [lon for lon, _ in centres]


def us_12h(times: pd.DatetimeIndex) -> list[str]:
    return list(times.strftime("%m/%d/%Y %I:%M:%S %p"))


def portal_file(fmt: str) -> tuple[str, bool]:
    """The eight incidents as a CSV in format ``fmt``; and whether it has a header."""
    lat, lon = lat_lon()
    n = len(NODES)
    if fmt == "chicago_portal":  # the STHSL extract: four columns, no header
        frame = pd.DataFrame({"d": us_12h(TIMES), "t": ["THEFT"] * n, "la": lat, "lo": lon})
        return frame.to_csv(index=False, header=False, float_format="%.10f"), False
    if fmt == "chicago_portal_export":  # the portal's own export, with its header
        frame = pd.DataFrame(
            {
                "ID": range(n),
                "Case Number": [f"JA{i}" for i in range(n)],
                "Date": us_12h(TIMES),
                "Primary Type": ["BATTERY"] * n,
                "Latitude": lat,
                "Longitude": lon,
            }
        )
    elif fmt == "nypd":
        frame = pd.DataFrame(
            {
                "Occurrence Date": us_12h(TIMES),
                "Day of Week": TIMES.day_name(),
                "Offense": ["ROBBERY"] * n,
                "Sector": ["A"] * n,
                "Precinct": [1] * n,
                "Latitude": lat,
                "Longitude": lon,
            }
        )
    elif fmt == "lapd":
        frame = pd.DataFrame(
            {
                "DR_NO": range(n),
                "DATE OCC": list(TIMES.strftime("%m/%d/%Y 12:00:00 AM")),
                "TIME OCC": list(TIMES.strftime("%H%M").str.lstrip("0").replace("", "0")),
                "AREA": [8] * n,
                "Crm Cd Desc": ["VANDALISM"] * n,
                "LAT": lat,
                "LON": lon,
            }
        )
    elif fmt == "baltimore_legacy":
        frame = pd.DataFrame(
            {
                "CrimeDateTime": us_12h(TIMES),
                "Latitude": lat,
                "Longitude": lon,
                "Description": ["BURGLARY"] * n,
                "CrimeCode": ["5A"] * n,
            }
        )
    elif fmt == "baltimore_geocoded":
        frame = pd.DataFrame(
            {
                "date": list(TIMES.strftime("%Y-%m-%d")),
                "lat": lat,
                "lon": lon,
                "Descriptio": ["ARSON"] * n,
                "CrimeCode": ["8H"] * n,
                "geocode_quality": ["exact_range"] * n,
            }
        )
    else:  # fase_processed
        frame = pd.DataFrame(
            {
                "CrimeDateTime": list(TIMES.strftime("%Y-%m-%d %H:%M:%S")),
                "Latitude": lat,
                "Longitude": lon,
                "Description": ["THEFT"] * n,
            }
        )
    return frame.to_csv(index=False, float_format="%.10f"), True


@pytest.fixture(scope="module")
def city_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The grid city's areas and demographics, no incident file and no period: those come
    with ``--incidents``."""
    root = tmp_path_factory.mktemp("city")
    unused = pd.DataFrame({"time": ["2021-03-01 00:00:00"], "node": [1]})
    city = write_city(root, unused, "2021-03-01", "2021-03-02")
    config = yaml.safe_load(city.config.read_text())
    for key in ("incidents", "calendar"):
        del config["dataset"][key]
    config["dataset"]["timezone"] = "UTC"
    path = root / "own_city.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in output, output
    return result.exit_code, output


@pytest.mark.parametrize(
    ("fmt", "detected"),
    [
        ("chicago_portal", "chicago_portal"),
        ("chicago_portal_export", "chicago_portal"),
        ("nypd", "nypd"),
        ("lapd", "lapd"),
        ("baltimore_legacy", "baltimore_legacy"),
        ("baltimore_geocoded", "baltimore_geocoded"),
        ("fase_processed", "fase_processed"),
    ],
)
def test_a_portal_file_is_recognised_and_counted(city_yaml, tmp_path, fmt, detected) -> None:
    text, _ = portal_file(fmt)
    incidents = tmp_path / f"{fmt}.csv"
    incidents.write_text(text)
    out = tmp_path / "run"
    code, output = invoke(
        "data", "--config", str(city_yaml), "--incidents", str(incidents), "--out", str(out)
    )
    assert code == 0, output
    saved = yaml.safe_load((out / "config.yaml").read_text())["dataset"]
    assert saved["incidents"]["format"] == detected
    assert saved["incidents"]["path"] == str(incidents.resolve())
    assert saved["calendar"] == {"start": "2021-03-01", "end": "2021-03-04"}  # its own span
    table = json.loads((out / "data" / "table1.json").read_text())["table"]
    assert table["Rows read"] == 8 and table["Incidents assigned to areas"] == 8
    assert table["Spatial nodes"] == 9
    y = Tensors.load(out).y
    np.testing.assert_array_equal(y.sum(axis=1), [1, 1, 1, 0, 2, 0, 0, 0, 3])
    assert y.shape[1] == (3 if detected == "baltimore_geocoded" else 72)  # days, else hours


def test_an_unknown_header_stops_with_the_columns_found(city_yaml, tmp_path) -> None:
    incidents = tmp_path / "mine.csv"
    incidents.write_text("when,x,y\n2021-03-01 10:00,41.8,-87.6\n")
    out = tmp_path / "run"
    code, output = invoke(
        "data", "--config", str(city_yaml), "--incidents", str(incidents), "--out", str(out)
    )
    assert code == 2
    first = output.strip().splitlines()[0]
    assert first.startswith("error: ") and "mine.csv" in first
    assert "columns found: ['when', 'x', 'y']" in first
    assert "dataset.incidents.columns" in output
    assert not (out / "data").exists()


def test_polygons_and_demographics_flags_replace_the_configs_files(tmp_path) -> None:
    """The config names the full grid and its demographics; the flags name four cells and
    another table, and the run has four areas grouped by the flagged table."""
    frame = pd.DataFrame({"time": TIMES.strftime("%Y-%m-%d %H:%M:%S"), "node": NODES})
    city = write_city(tmp_path / "city", frame, "2021-03-01", "2021-03-04", tz="UTC")
    four = tmp_path / "four.geojson"
    grid_polygons().iloc[:4].to_file(four, driver="GeoJSON")
    other = tmp_path / "other.csv"
    pd.DataFrame(
        {
            "area": [1, 2, 3, 4],
            "black_pct": [10.0, 90.0, 10.0, 90.0],
            "white_pct": [80.0, 5.0, 80.0, 5.0],
            "income": [1.0, 2.0, 3.0, 4.0],
            "poverty_pct": [1.0, 2.0, 3.0, 4.0],
        }
    ).to_csv(other, index=False)
    out = tmp_path / "run"
    code, output = invoke(
        "data",
        "--config", str(city.config),
        "--polygons", str(four),
        "--demographics", str(other),
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, output
    meta = json.loads((out / "data" / "meta.json").read_text())
    assert meta["node_ids"] == ["1", "2", "3", "4"]
    assert meta["groups"] == ["majority", "minority", "majority", "minority"]
    table = json.loads((out / "data" / "table1.json").read_text())["table"]
    assert table["Incidents assigned to areas"] == 3  # cells 1, 2, 3; the rest fall outside


@pytest.mark.parametrize("command", ["run", "train", "compare", "federated"])
def test_every_command_that_builds_data_takes_the_flags(city_yaml, tmp_path, command) -> None:
    """The flags reach the data each command builds: a missing file is refused up front."""
    missing = tmp_path / "nowhere.csv"
    code, output = invoke(
        command, "--config", str(city_yaml), "--incidents", str(missing),
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert code == 2 and "nowhere.csv: file given with --incidents not found" in output


def test_run_on_your_own_city_with_the_flags(city_yaml, tmp_path) -> None:
    """``fase train --incidents`` trains on the flagged file's counts."""
    frame = pd.DataFrame(
        {"time": pd.date_range("2021-03-01", periods=24 * 12, freq="h").strftime(
            "%Y-%m-%d %H:%M:%S"), "node": np.tile(np.arange(1, 10), 32)}
    )  # fmt: skip
    incidents = tmp_path / "incidents.csv"
    lat, lon = zip(*[cell_center(n)[::-1] for n in frame["node"]], strict=True)
    pd.DataFrame({"CrimeDateTime": frame["time"], "Latitude": lat, "Longitude": lon}).to_csv(
        incidents, index=False, float_format="%.10f"
    )
    config = yaml.safe_load(city_yaml.read_text()) | TINY_TRAINING
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / "run"
    code, output = invoke(
        "train", "--config", str(path), "--incidents", str(incidents), "--out", str(out),
        "--no-progress",
    )  # fmt: skip
    assert code == 0, output
    assert int(Tensors.load(out).y.sum()) == len(frame)


def test_incidents_outside_every_area_are_an_error_not_an_empty_city(city_yaml, tmp_path) -> None:
    text, _ = portal_file("nypd")
    far = tmp_path / "elsewhere.csv"  # the same rows, a degree away from the grid
    frame = pd.read_csv(io.StringIO(text))
    frame["Latitude"] += 1.0
    frame.to_csv(far, index=False)
    code, output = invoke(
        "data", "--config", str(city_yaml), "--incidents", str(far), "--out", str(tmp_path / "r")
    )
    assert code == 2
    assert "areas.geojson: none of the 8 incidents falls inside an area" in output
    assert "--polygons" in output


def test_paper_counts_an_incident_in_every_overlapping_area(city_yaml, tmp_path) -> None:
    """Two overlapping polygons (cell 1, and cells 1 + 2): ``paper`` counts an incident in
    cell 1 in both, as the reference's spatial join does; ``default`` once."""
    polygons = gpd.GeoDataFrame(
        {
            "area": [1, 2],
            "label": ["cell 1", "cells 1-2"],
            "geometry": [
                box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + SIDE, ORIGIN[1] + SIDE),
                box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + 2 * SIDE, ORIGIN[1] + SIDE),
            ],
        },
        crs="EPSG:4326",
    )
    areas = tmp_path / "overlapping.geojson"
    polygons.to_file(areas, driver="GeoJSON")
    rows = pd.DataFrame(
        {"time": ["2021-03-01 01:30:00", "2021-03-01 02:30:00", "2021-03-01 03:30:00"],
         "node": [1, 1, 2]}
    )  # fmt: skip
    incidents = tmp_path / "three.csv"
    centres = np.array([cell_center(n) for n in rows["node"]])
    pd.DataFrame(
        {"CrimeDateTime": rows["time"], "Latitude": centres[:, 1], "Longitude": centres[:, 0],
         "Description": ["THEFT"] * 3}
    ).to_csv(incidents, index=False)  # fmt: skip
    totals = {}
    for preset in ("paper", "default"):
        out = tmp_path / preset
        code, output = invoke(
            "data", "--config", str(city_yaml), "--preset", preset, "--incidents", str(incidents),
            "--polygons", str(areas), "--out", str(out),
        )  # fmt: skip
        assert code == 0, output
        table = read_json(out / "data" / "table1.json")["table"]
        totals[preset] = (
            table["Incidents assigned to areas"],
            table.get("  further counts in every other matching area (overlaps: every)"),
        )
        tensors = np.load(out / "data" / "tensors.npz")
        totals[preset] += (int(tensors["y"].sum()),)
    assert totals["paper"] == (3, 2, 5)  # 2 incidents in cell 1 counted in both polygons
    assert totals["default"] == (3, None, 3)
