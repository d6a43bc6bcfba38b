"""Incident readers: fatal input problems raise FaseInputError naming the file and the fix."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from fase.config.dataset import BBox, Calendar, ColumnMap, IncidentSource
from fase.data.incidents import read_incidents
from fase.errors import FaseInputError

CAL = Calendar(start="2016-01-01", end="2017-01-01")
HEADER = "CrimeDateTime,Latitude,Longitude\n"


def fails(source: IncidentSource, bbox: BBox | None = None) -> str:
    """Read ``source``; return the error message, which must name the file."""
    with pytest.raises(FaseInputError) as info:
        read_incidents(source, "America/Chicago", CAL, bbox)
    message = str(info.value)
    assert str(source.path) in message
    return message


def processed(path: Path) -> IncidentSource:
    return IncidentSource(path=str(path), format="fase_processed")


def test_missing_file(tmp_path):
    message = fails(processed(tmp_path / "nope.csv"))
    assert "not found" in message and "incidents.path" in message


@pytest.mark.parametrize(("content", "what"), [(b"", "0 bytes"), (b"\n\n", "no lines")])
def test_empty_file(tmp_path, content, what):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    assert what in fails(processed(path))


def test_header_only(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text(HEADER)
    assert "no data rows" in fails(processed(path))


def test_gz_name_but_not_gzip(tmp_path):
    path = tmp_path / "plain.csv.gz"
    path.write_text(HEADER + "2016-01-01 00:00:00,41.8,-87.6\n")
    assert "not gzip-compressed" in fails(processed(path))


def test_truncated_gzip(tmp_path):
    path = tmp_path / "cut.csv.gz"
    rows = "".join(f"2016-01-01 00:{i % 60:02d}:00,41.{i},-87.{i * 7919}\n" for i in range(5000))
    whole = gzip.compress((HEADER + rows).encode())
    path.write_bytes(whole[: len(whole) // 2])
    assert "cannot be read as CSV" in fails(processed(path))


def test_semicolon_file_read_with_comma(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("CrimeDateTime;Latitude;Longitude\n2016-01-01 00:00:00;41.8;-87.6\n")
    message = fails(processed(path))
    assert "'CrimeDateTime' (datetime)" in message and "'Latitude' (lat)" in message
    assert "delimiter: ';'" in message


def test_tab_file_without_header_read_with_comma(tmp_path):
    path = tmp_path / "tabs.csv"
    path.write_text("01/01/2016 01:00:00 AM\tTHEFT\t41.8\t-87.6\n")
    message = fails(IncidentSource(path=str(path), format="chicago_portal"))
    assert "1 field(s)" in message and "delimiter: '\\\\t'" in message


def test_missing_required_columns_names_them_and_lists_found(tmp_path):
    path = tmp_path / "cols.csv"
    path.write_text("CrimeDateTime,Lat,Lon\n2016-01-01 00:00:00,41.8,-87.6\n")
    message = fails(processed(path))
    assert "'Latitude' (lat)" in message and "'Longitude' (lon)" in message
    assert "['CrimeDateTime', 'Lat', 'Lon']" in message
    assert "incidents.columns" in message


def test_missing_keep_if_column(tmp_path):
    path = tmp_path / "k.csv"
    path.write_text(HEADER + "2016-01-01 00:00:00,41.8,-87.6\n")
    source = IncidentSource(path=str(path), format="fase_processed", keep_if={"quality": ("ok",)})
    assert "'quality' (keep_if:quality)" in fails(source)


def test_every_datetime_unparseable_shows_samples_and_formats(tmp_path):
    path = tmp_path / "dates.csv"
    rows = ["31/01/2016 10:00", "01/02/2016 11:00", "15/03/2016 12:00", "16/03/2016 12:00"]
    path.write_text(HEADER + "".join(f"{r},41.8,-87.6\n" for r in rows))
    message = fails(processed(path))
    assert "'31/01/2016 10:00', '01/02/2016 11:00', '15/03/2016 12:00'" in message
    assert "16/03/2016" not in message  # three samples only
    assert "['%Y-%m-%d %H:%M:%S']" in message and "datetime_formats" in message


def test_every_lapd_time_unparseable_mentions_the_time_column(tmp_path):
    path = tmp_path / "lapd.csv"
    path.write_text("DATE OCC,TIME OCC,LAT,LON\n01/08/2016 00:00,2500,34.0,-118.3\n")
    message = fails(IncidentSource(path=str(path), format="lapd"))
    assert "'TIME OCC'" in message and "'01/08/2016 00:00' + time '2500'" in message


def test_every_row_dropped_reports_counts(tmp_path):
    path = tmp_path / "far.csv"
    path.write_text(HEADER + "2016-01-01 10:00:00,40.0,-80.0\n2016-01-01 11:00:00,0,-87.6\n")
    bbox = BBox(lat_min=41.5, lat_max=42.0, lon_min=-88.0, lon_max=-87.5)
    message = fails(processed(path), bbox)
    assert "all 2 rows were dropped" in message
    assert "zero_coordinates: 1" in message and "outside_bbox: 1" in message


def test_unknown_format(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(HEADER)
    source = IncidentSource.model_construct(path=str(path), format="socrata_v9")
    message = fails(source)
    assert "unknown incident format 'socrata_v9'" in message and "chicago_portal" in message


def test_mapped_needs_columns_and_datetime_formats(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(HEADER + "2016-01-01 00:00:00,41.8,-87.6\n")
    assert "incidents.columns" in fails(IncidentSource(path=str(path)))
    columns = ColumnMap(datetime="CrimeDateTime")
    source = IncidentSource(path=str(path), columns=columns)
    assert "incidents.datetime_formats" in fails(source)


def test_headerless_mapped_without_names(tmp_path):
    path = tmp_path / "n.csv"
    path.write_text("2016-01-01 00:00:00,41.8,-87.6\n")
    source = IncidentSource(
        path=str(path),
        header=False,
        columns=ColumnMap(datetime="t"),
        datetime_formats=("%Y-%m-%d %H:%M:%S",),
    )
    assert "incidents.names" in fails(source)


def test_config_columns_are_all_required(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(HEADER + "2016-01-01 00:00:00,41.8,-87.6\n")
    columns = ColumnMap(datetime="CrimeDateTime", crime_type="Description")
    source = IncidentSource(path=str(path), format="fase_processed", columns=columns)
    assert "'Description' (crime_type)" in fails(source)
