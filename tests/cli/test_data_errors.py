"""A corpus of malformed inputs, each through the CLI: one clear message naming the
file and the problem (exit status 2), or a counted skip — never a traceback."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from tests.helpers.city import City, write_city
from typer.testing import CliRunner

from fase.cli import app

runner = CliRunner()


def base_city(root: Path) -> City:
    frame = pd.DataFrame(
        {
            "time": ["2017-01-02 10:00:00", "2017-01-03 11:30:00", "2017-01-04 12:00:00"],
            "node": [1, 5, 9],
        }
    )
    return write_city(root, frame, "2017-01-02", "2017-01-05")


def run(city: City, *extra: str) -> tuple[int, str]:
    result = runner.invoke(
        app, ["data", "--config", str(city.config), "--out", str(city.root / "run"), *extra]
    )
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, output


def edit_dataset(city: City, **changes) -> None:
    config = yaml.safe_load(city.config.read_text())
    for dotted, value in changes.items():
        node = config["dataset"]
        *parents, leaf = dotted.split("__")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    city.config.write_text(yaml.safe_dump(config))


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


CASES = {
    "empty incident file": lambda c: write(c.incidents, ""),
    "header only": lambda c: write(c.incidents, "CrimeDateTime,Latitude,Longitude\n"),
    "wrong delimiter": lambda c: write(c.incidents, c.incidents.read_text().replace(",", ";")),
    "missing column": lambda c: write(
        c.incidents, c.incidents.read_text().replace("Latitude", "Lat")
    ),
    "non-numeric coordinates": lambda c: write(
        c.incidents, "CrimeDateTime,Latitude,Longitude\n2017-01-02 10:00:00,north,west\n"
    ),
    "all rows outside the bbox": lambda c: edit_dataset(
        c, bbox={"lat_min": 10.0, "lat_max": 11.0, "lon_min": 10.0, "lon_max": 11.0}
    ),
    "unknown date format": lambda c: write(
        c.incidents, c.incidents.read_text().replace("2017-01-0", "Jan 0").replace(" 1", "th 1")
    ),
    "polygons without the id column": lambda c: edit_dataset(c, areas__id_column="GEOID"),
    "demographics matching no node": lambda c: write(
        c.demographics,
        "area,black_pct,white_pct,income,poverty_pct\nX1,10,80,100,5\nX2,60,20,50,30\n",
    ),
    "missing incident file": lambda c: c.incidents.unlink(),
    "missing polygon file": lambda c: c.polygons.unlink(),
    "not really gzip": lambda c: (
        write(c.root / "bad.csv.gz", "plain text"),
        edit_dataset(c, incidents__path=str(c.root / "bad.csv.gz")),
    ),
    "polygons file without features": lambda c: write(
        c.polygons, json.dumps({"type": "FeatureCollection", "features": []})
    ),
    "demographics id column absent": lambda c: edit_dataset(c, demographics__id_column="zcta"),
    "unknown time zone": lambda c: edit_dataset(c, timezone="Mars/Olympus"),
    "unknown incident format": lambda c: edit_dataset(c, incidents__format="excel"),
    "config not YAML": lambda c: write(c.config, "dataset: [unclosed\n"),
    "calendar before every incident": lambda c: edit_dataset(
        c, calendar={"start": "2010-01-01", "end": "2010-02-01"}
    ),
    "demographics column absent": lambda c: edit_dataset(c, demographics__black_share="pct_black"),
}


FLAGS = (("--incidents", "incidents"), ("--polygons", "areas"), ("--demographics", "demographics"))


def through_the_flags(city: City, clean: City) -> list[str]:
    """The files ``city``'s config names, as command-line flags; the config is made to
    name ``clean``'s good files instead, so that only the flags can bring the fault."""
    try:
        config = yaml.safe_load(city.config.read_text())
        dataset = config["dataset"]
    except (yaml.YAMLError, TypeError, KeyError):  # a broken config fails before any file
        return []
    good = {
        "incidents": clean.incidents,
        "areas": clean.polygons,
        "demographics": clean.demographics,
    }
    flags: list[str] = []
    for option, key in FLAGS:
        flags += [option, dataset[key]["path"]]
        dataset[key]["path"] = str(good[key])
    city.config.write_text(yaml.safe_dump(config))
    return flags


@pytest.mark.parametrize("through_flags", [False, True], ids=["config", "flags"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_input_gives_one_clear_error(
    case: str, through_flags: bool, tmp_path: Path
) -> None:
    city = base_city(tmp_path / "city")
    CASES[case](city)
    flags = through_the_flags(city, base_city(tmp_path / "clean")) if through_flags else []
    code, output = run(city, *flags)
    assert code == 2, output
    assert output.startswith("error: ") or "\nerror: " in output, output
    first_line = output.strip().splitlines()[0]
    assert any(
        name in first_line
        for name in (
            "incidents.csv",
            "areas.geojson",
            "demographics.csv",
            "config.yaml",
            "bad.csv.gz",
        )
    ), first_line


def test_counted_skips_are_reported_not_fatal(tmp_path: Path) -> None:
    """Swapped, zero, out-of-range and unparseable rows are skipped and counted."""
    city = base_city(tmp_path / "city")
    edit_dataset(city, bbox={"lat_min": 41.7, "lat_max": 41.85, "lon_min": -87.8, "lon_max": -87.6})
    lines = city.incidents.read_text().splitlines()
    header, good = lines[0], lines[1:]
    date, lat, lon, kind = good[0].split(",")
    bad = [
        f"{date},{lon},{lat},{kind}",
        f"{date},0,0,{kind}",
        f"{date},95.0,{lon},{kind}",
        f"not a date,{lat},{lon},{kind}",
        f"{date},,{lon},{kind}",
    ]
    write(city.incidents, "\n".join([header, *good, *bad]) + "\n")
    code, output = run(city)
    assert code == 0, output
    table = json.loads((city.root / "run" / "data" / "table1.json").read_text())["dropped"]
    assert table == {
        "swapped_coordinates": 1,
        "zero_coordinates": 1,
        "out_of_range_coordinates": 1,
        "unparseable_datetime": 1,
        "missing_coordinates": 1,
    }


def test_invalid_polygon_is_repaired_and_counted(tmp_path: Path) -> None:
    city = base_city(tmp_path / "city")
    collection = json.loads(city.polygons.read_text())
    ring = collection["features"][0]["geometry"]["coordinates"][0]
    (x0, y0), (x1, y1) = ring[0], ring[2]
    collection["features"][0]["geometry"]["coordinates"] = [
        [[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]
    ]
    write(city.polygons, json.dumps(collection))
    code, output = run(city)
    assert code == 0, output
    assert "Invalid geometries repaired" in output


def test_gzip_incidents_are_read(tmp_path: Path) -> None:
    city = base_city(tmp_path / "city")
    gz = city.root / "incidents.csv.gz"
    gz.write_bytes(gzip.compress(city.incidents.read_bytes()))
    edit_dataset(city, incidents__path=str(gz))
    code, output = run(city)
    assert code == 0, output
