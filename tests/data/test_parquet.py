"""Parquet incident datasets: the same tensors and drop counts as CSV, URLs, batches, errors."""

from __future__ import annotations

import uuid
from pathlib import Path

import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
import yaml
from tests.helpers.city import ORIGIN, SIDE, City, write_city

from fase.config import load_config
from fase.config.dataset import BBox, Calendar, IncidentSource
from fase.data.duplicates import DuplicateFilter
from fase.data.incidents import IncidentStream, IncidentTable, read_incidents
from fase.data.pipeline import Phase1Result, build_dataset
from fase.errors import FaseInputError

TZ = "America/Chicago"
START, END = "2016-03-10", "2016-11-10"
CAL_MAY = Calendar(start="2016-05-01", end="2016-06-01")
MARGIN = 0.01  # degrees of bbox around the 3x3 grid
BBOX = {
    "lat_min": ORIGIN[1] - MARGIN,
    "lat_max": ORIGIN[1] + 3 * SIDE + MARGIN,
    "lon_min": ORIGIN[0] - MARGIN,
    "lon_max": ORIGIN[0] + 3 * SIDE + MARGIN,
}
TYPES = ["THEFT", "BATTERY", "NARCOTICS", "ROBBERY", "CRIMINAL DAMAGE"]
BAD_ROWS = [  # (time, lon, lat, type): the reason each is dropped
    ("not a date", -87.73, 41.76, "THEFT"),  # unparseable_datetime
    ("", -87.73, 41.76, "THEFT"),  # unparseable_datetime
    ("2016-13-45 10:00:00", -87.73, 41.76, "THEFT"),  # unparseable_datetime
    ("2016-05-01 10:00:00", -87.73, np.nan, "THEFT"),  # missing_coordinates
    ("2016-05-01 10:00:00", np.nan, 41.76, "THEFT"),  # missing_coordinates
    ("2016-05-01 10:00:00", -87.73, 0.0, "THEFT"),  # zero_coordinates
    ("2016-05-01 10:00:00", -87.73, 42.76, "THEFT"),  # outside_bbox
    ("2016-05-01 10:00:00", -86.73, 41.76, "THEFT"),  # outside_bbox
    ("2016-03-09 23:59:00", -87.73, 41.76, "THEFT"),  # outside_calendar (before start)
    ("2016-11-10 00:00:00", -87.73, 41.76, "THEFT"),  # outside_calendar (end exclusive)
]
EXPECTED_DROPS = {
    "unparseable_datetime": 3,
    "missing_coordinates": 2,
    "zero_coordinates": 1,
    "outside_bbox": 2,
    "outside_calendar": 2,
}
SPECIAL_ROWS = [  # kept
    ("2016-11-06 01:30:00", -87.74, 41.76, "BATTERY"),  # dst_ambiguous (first occurrence)
    ("2016-11-06 01:30:00", -87.74, 41.76, "BATTERY"),  # ... and its exact duplicate
    ("2016-03-13 02:30:00", -87.74, 41.76, "THEFT"),  # dst_nonexistent (shifted to 03:00)
    ("2016-06-01 12:00:00", -87.74, ORIGIN[1] - MARGIN / 2, "THEFT"),  # in bbox, in no area
]
N_GOOD, N_REPEATS = 400, 5


def incident_rows(seed: int = 0) -> pd.DataFrame:
    """Random incidents in the grid, the special and bad rows, and repeated rows, shuffled."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp(START).value
    minutes = rng.integers(0, (pd.Timestamp(END).value - start) // 60_000_000_000, N_GOOD)
    good = pd.DataFrame(
        {
            "time": pd.to_datetime(start + minutes * 60_000_000_000).strftime("%Y-%m-%d %H:%M:%S"),
            "lon": ORIGIN[0] + rng.uniform(0, 3 * SIDE, N_GOOD),
            "lat": ORIGIN[1] + rng.uniform(0, 3 * SIDE, N_GOOD),
            "type": rng.choice(TYPES, N_GOOD),
        }
    )
    listed = pd.DataFrame(SPECIAL_ROWS + BAD_ROWS, columns=["time", "lon", "lat", "type"])
    rows = pd.concat([good, listed, good.iloc[:N_REPEATS]], ignore_index=True)
    return rows.iloc[rng.permutation(len(rows))].reset_index(drop=True)


def parquet_table(rows: pd.DataFrame, times: str = "text") -> pa.Table:
    """The rows in the CSV's columns (times as ``text``, naive ``local`` or ``utc`` timestamps),
    with year/month partition columns taken from the time text."""
    text = rows["time"]
    if times == "text":
        when: pd.Series | pd.DatetimeIndex = text
    else:
        when = pd.DatetimeIndex(pd.to_datetime(text, format="%Y-%m-%d %H:%M:%S", errors="coerce"))
        if times == "utc":
            ambiguous = np.ones(len(when), dtype=bool)  # the first occurrence, as the reader
            when = when.tz_localize(TZ, ambiguous=ambiguous, nonexistent="shift_forward")
            when = when.tz_convert("UTC")
    valid = text.str.match(r"^\d{4}-\d{2}")
    frame = pd.DataFrame(
        {
            "CrimeDateTime": when,
            "Latitude": rows["lat"].to_numpy(),
            "Longitude": rows["lon"].to_numpy(),
            "Description": rows["type"].to_numpy(),
            "year": np.where(valid, text.str[:4], "none"),
            "month": np.where(valid, text.str[5:7], "none"),
        }
    )
    return pa.Table.from_pandas(frame, preserve_index=False)


def write_parquet(table: pa.Table, root: str, filesystem: pafs.FileSystem | None = None) -> None:
    pq.write_to_dataset(table, root, partition_cols=["year", "month"], filesystem=filesystem)


def with_incidents(city: City, name: str, **incidents: object) -> Path:
    """A copy of the city's config whose incidents section is replaced by ``incidents``."""
    config = yaml.safe_load(city.config.read_text(encoding="utf-8"))
    config["dataset"]["incidents"] = {"format": "fase_processed", **incidents}
    path = city.root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture
def city(tmp_path: Path) -> City:
    return write_city(tmp_path / "city", incident_rows(), START, END, extra_dataset={"bbox": BBOX})


def phase1(config: Path, duplicates: str = "keep") -> Phase1Result:
    overrides = {"data": {"crime_type_channels": True, "duplicates": duplicates}}
    return build_dataset(load_config(config_path=config, overrides=overrides))


def assert_same_phase1(csv: Phase1Result, other: Phase1Result) -> None:
    assert np.array_equal(csv.tensors.y, other.tensors.y)
    assert np.array_equal(csv.tensors.y_types, other.tensors.y_types)
    assert np.array_equal(csv.tensors.x, other.tensors.x, equal_nan=True)
    assert np.array_equal(csv.tensors.bin_start, other.tensors.bin_start)
    assert csv.tensors.meta["crime_types"] == other.tensors.meta["crime_types"]
    assert csv.join == other.join


@pytest.mark.parametrize("duplicates", ["keep", "drop"])
def test_partitioned_parquet_gives_the_tensors_and_drops_of_csv(city, duplicates):
    directory = city.root / "incidents_parquet"
    write_parquet(parquet_table(incident_rows()), str(directory))
    assert len(list(directory.glob("year=*/month=*/*.parquet"))) > 9  # really partitioned
    csv = phase1(city.config, duplicates)
    parquet = phase1(with_incidents(city, "parquet", path=str(directory)), duplicates)
    assert_same_phase1(csv, parquet)
    assert (csv.incidents.storage, parquet.incidents.storage) == ("csv", "parquet")
    repeats = N_REPEATS + 1  # the repeated random rows and the fall-back-hour pair
    dropped = EXPECTED_DROPS | ({"duplicate": repeats} if duplicates == "drop" else {})
    adjusted = {"dst_ambiguous": 2 if duplicates == "keep" else 1, "dst_nonexistent": 1}
    for result in (csv, parquet):
        summary = result.incidents
        assert (summary.dropped, summary.adjusted) == (dropped, adjusted)
        assert summary.duplicates == repeats
        assert summary.rows_read == N_GOOD + len(SPECIAL_ROWS) + len(BAD_ROWS) + N_REPEATS
        assert summary.loaded == summary.rows_read - sum(dropped.values())
        assert result.join.unassigned == 1  # the row in the bbox margin
        assert int(result.tensors.y.sum()) == summary.loaded - 1
    assert csv.table == parquet.table


@pytest.mark.parametrize("times", ["local", "utc"])
def test_typed_timestamps_need_no_formats(city, times):
    """Naive timestamps are local wall time (same DST rules), zone-aware ones instants."""
    path = city.root / "incidents.parquet"
    pq.write_table(parquet_table(incident_rows(), times), path)
    csv = phase1(city.config)
    columns = {"datetime": "CrimeDateTime", "crime_type": "Description"}  # no formats
    parquet = phase1(with_incidents(city, times, path=str(path), format="mapped", columns=columns))
    assert_same_phase1(csv, parquet)
    assert parquet.incidents.dropped == EXPECTED_DROPS  # the bad times are nulls here
    if times == "utc":
        assert parquet.incidents.adjusted == {"utc_converted": parquet.incidents.loaded}
    else:
        assert parquet.incidents.adjusted == csv.incidents.adjusted


def test_text_coordinates_are_cleaned_like_csv(tmp_path):
    """A Parquet file of text columns drops non-numeric coordinates as CSV does."""
    rows = {"t": ["2016-05-01 10:00", "2016-05-01 11:00", "2016-05-01 12:00"]}
    rows |= {"lat": ["41.8", "north", " "], "lon": ["-87.6", "-87.6", "-87.6"]}
    path = tmp_path / "text.parquet"
    pq.write_table(pa.table(rows), path)
    csv = tmp_path / "text.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    common = {"columns": {"datetime": "t", "lat": "lat", "lon": "lon"}}
    common |= {"datetime_formats": ("%Y-%m-%d %H:%M",)}
    tables = [
        read_incidents(IncidentSource(path=str(p), **common), TZ, CAL_MAY, None)
        for p in (csv, path)
    ]
    for table in tables:
        assert table.dropped == {"missing_coordinates": 1, "non_numeric_coordinates": 1}
    pd.testing.assert_frame_equal(tables[0].frame, tables[1].frame)


def read(location: str, **fields: object) -> IncidentTable:
    source = IncidentSource(path=location, **({"format": "fase_processed"} | fields))
    return read_incidents(source, TZ, Calendar(start=START, end=END), BBox(**BBOX), "drop")


def assert_same_table(left, right) -> None:
    pd.testing.assert_frame_equal(left.frame, right.frame)
    assert (left.dropped, left.adjusted, left.duplicates, left.rows_read) == (
        right.dropped,
        right.adjusted,
        right.duplicates,
        right.rows_read,
    )


def test_memory_and_file_urls_read_like_a_local_directory(tmp_path):
    table = parquet_table(incident_rows())
    write_parquet(table, str(tmp_path / "local"))
    local = read(str(tmp_path / "local"))
    bucket = f"fase-test-{uuid.uuid4().hex}"
    memory = fsspec.filesystem("memory")
    try:
        write_parquet(table, f"/{bucket}/incidents", pafs.PyFileSystem(pafs.FSSpecHandler(memory)))
        assert_same_table(local, read(f"memory://{bucket}/incidents"))
        assert_same_table(local, read(f"memory://{bucket}/incidents/", storage="parquet"))
    finally:
        memory.rm(f"/{bucket}", recursive=True)
    assert_same_table(local, read(f"file://{tmp_path / 'local'}"))
    assert read(f"file://{tmp_path / 'local'}").source == f"file://{tmp_path / 'local'}"


def test_config_keeps_urls_and_resolves_local_directories(city):
    cfg = load_config(config_path=with_incidents(city, "url", path="memory://bucket/incidents/"))
    assert cfg.dataset.incidents.path == "memory://bucket/incidents/"
    cfg = load_config(config_path=with_incidents(city, "dir", path="incidents_parquet"))
    assert cfg.dataset.incidents.path == str(city.root / "incidents_parquet")


@pytest.mark.parametrize("batch_rows", [7, 64])
def test_batch_size_does_not_change_the_incidents(tmp_path, batch_rows):
    directory = str(tmp_path / "dataset")
    write_parquet(parquet_table(incident_rows()), directory)
    whole = read(directory)
    source = IncidentSource(path=directory, format="fase_processed")
    calendar, bbox = Calendar(start=START, end=END), BBox(**BBOX)
    stream = IncidentStream(source, TZ, calendar, bbox, "drop", batch_rows)
    batches = list(stream)
    assert max(len(b) for b in batches) <= batch_rows
    assert len(batches) >= -(-len(whole.frame) // batch_rows)  # each holds <= batch_rows
    pd.testing.assert_frame_equal(whole.frame, pd.concat(batches, ignore_index=True))
    summary = stream.summary()
    assert (summary.dropped, summary.duplicates) == (whole.dropped, whole.duplicates)


def test_batch_size_does_not_change_the_tensors(city):
    directory = str(city.root / "dataset")
    write_parquet(parquet_table(incident_rows()), directory)
    whole = phase1(with_incidents(city, "whole", path=directory), "drop")
    batched = phase1(with_incidents(city, "batched", path=directory, batch_rows=50), "drop")
    assert_same_phase1(whole, batched)
    assert whole.incidents.dropped == batched.incidents.dropped


def test_auto_storage_detects_parquet_by_content_and_layout(tmp_path):
    table = parquet_table(incident_rows())
    pq.write_table(table, tmp_path / "no_suffix")
    write_parquet(table, str(tmp_path / "dir"))
    single = read(str(tmp_path / "no_suffix"))
    assert single.storage == read(str(tmp_path / "dir")).storage == "parquet"
    assert single.dropped == EXPECTED_DROPS | {"duplicate": N_REPEATS + 1}


def fails(location: str, **fields: object) -> str:
    with pytest.raises(FaseInputError) as info:
        read(location, **fields)
    message = str(info.value)
    assert location in message
    return message


def test_missing_column_names_the_column_and_those_found(tmp_path):
    path = tmp_path / "incidents.parquet"
    pq.write_table(parquet_table(incident_rows()).drop_columns(["Latitude"]), path)
    message = fails(str(path))
    assert "'Latitude' (lat) not found" in message and "Longitude" in message


def test_text_times_without_formats_are_refused(tmp_path):
    path = tmp_path / "incidents.parquet"
    pq.write_table(parquet_table(incident_rows()), path)
    columns = {"datetime": "CrimeDateTime"}
    message = fails(str(path), format="mapped", columns=columns)
    assert "column 'CrimeDateTime' holds large_string times" in message
    assert "no incidents.datetime_formats" in message


def test_bad_paths_and_files(tmp_path):
    assert "incident dataset not found" in fails(str(tmp_path / "nope"), storage="parquet")
    assert "incident file not found" in fails(str(tmp_path / "nope.csv"))
    assert "incident dataset not found" in fails(f"file://{tmp_path}/nope/")
    (tmp_path / "empty").mkdir()
    assert "no Parquet files" in fails(str(tmp_path / "empty"))
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "part.parquet").write_text("CrimeDateTime,Latitude\n", encoding="utf-8")
    assert "cannot be read as Parquet" in fails(str(tmp_path / "fake"))
    csv = tmp_path / "plain.csv"
    csv.write_text("CrimeDateTime,Latitude,Longitude\n", encoding="utf-8")
    assert "local files only" in fails(f"file://{csv}", storage="csv")
    assert "unknown URL protocol 'nosuch'" in fails("nosuch://bucket/incidents/")


def test_missing_filesystem_package_is_named():
    pytest.importorskip("fsspec")
    try:
        import s3fs  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("s3fs is installed")
    message = fails("s3://bucket/incidents/")
    assert "needs s3fs" in message and "pip install s3fs" in message


def test_duplicate_filter_matches_pandas_on_the_whole_table():
    rng = np.random.default_rng(3)
    n = 2_000
    times = pd.to_datetime(rng.integers(0, 50, n) * 3_600_000_000_000).tz_localize("UTC")
    frame = pd.DataFrame(
        {
            "time": times.tz_convert(TZ),
            "lat": rng.choice([41.5, 41.75, -0.5], n),
            "lon": rng.choice([-87.5, -87.25], n),
            "crime_type": rng.choice(["A", "B"], n),
            "extra": pd.Series(rng.choice(["x", None], n), dtype="str"),
        }
    )
    expected = frame.duplicated(keep="first").to_numpy()
    assert 0 < expected.sum() < n
    found = DuplicateFilter()
    marks = [found.repeats(frame.iloc[i : i + 300]) for i in range(0, n, 300)]
    np.testing.assert_array_equal(np.concatenate(marks), expected)
    assert found.n_distinct == n - int(expected.sum())
