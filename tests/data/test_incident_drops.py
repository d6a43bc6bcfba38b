"""Incident readers: every drop reason counted once, duplicates, bbox and calendar edges."""

from __future__ import annotations

from pathlib import Path

import pytest

from fase.config.dataset import BBox, Calendar, ColumnMap, IncidentSource
from fase.data.incidents import DROP_REASONS, read_incidents

CHICAGO = BBox(lat_min=41.5, lat_max=42.0, lon_min=-88.0, lon_max=-87.5)
JANUARY = Calendar(start="2016-01-01", end="2016-02-01")
CAL_NOV = Calendar(start="2016-11-01", end="2016-12-01")


def mapped(tmp_path: Path, lines: list[str], **fields) -> IncidentSource:
    """A 'mapped' source over a CSV with columns t, lat, lon, kind."""
    path = tmp_path / "incidents.csv"
    path.write_text("t,lat,lon,kind\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return IncidentSource(
        path=str(path),
        columns=ColumnMap(datetime="t", lat="lat", lon="lon", crime_type="kind"),
        datetime_formats=("%Y-%m-%d %H:%M",),
        **fields,
    )


def test_every_drop_reason_counted_once_in_order(tmp_path):
    lines = [
        "2016-01-05 10:00,41.8,-87.6,A",  # kept
        "2016-01-05 10:00,41.8,-87.6,A",  # kept, exact duplicate of the row above
        "2016-01-06 11:00,41.9,-87.7,A",  # kept
        ",41.8,-87.6,A",  # unparseable_datetime (empty)
        "yesterday,0,0,A",  # unparseable_datetime (also zero: counted once, first reason)
        "2016-01-05 10:00,,-87.6,A",  # missing_coordinates
        "2016-01-05 10:00,41.8,abc,A",  # non_numeric_coordinates
        "2016-01-05 10:00,0,-87.6,A",  # zero_coordinates
        "2016-01-05 10:00,41.8,0,A",  # zero_coordinates
        "2016-01-05 10:00,-87.6,41.8,A",  # swapped_coordinates
        "2016-01-05 10:00,95,-87.6,A",  # out_of_range_coordinates
        "2016-01-05 10:00,41.8,-187.6,A",  # out_of_range_coordinates
        "2016-01-05 10:00,41.8,-87.6,B",  # filtered:kind
        "2015-12-05 10:00,41.8,-87.6,B",  # filtered:kind (before outside_calendar)
        "2016-01-05 10:00,42.1,-87.6,A",  # outside_bbox
        "2015-12-31 23:59,41.8,-87.6,A",  # outside_calendar (before start)
        "2016-02-01 00:00,41.8,-87.6,A",  # outside_calendar (end is exclusive)
    ]
    source = mapped(tmp_path, lines, keep_if={"kind": ("A",)})
    expected = {
        "unparseable_datetime": 2,
        "missing_coordinates": 1,
        "non_numeric_coordinates": 1,
        "zero_coordinates": 2,
        "swapped_coordinates": 1,
        "out_of_range_coordinates": 2,
        "filtered:kind": 2,
        "outside_bbox": 1,
        "outside_calendar": 2,
    }
    kept = read_incidents(source, "America/Chicago", JANUARY, CHICAGO, "keep")
    assert kept.dropped == expected
    assert (len(kept.frame), kept.duplicates, kept.duplicates_dropped) == (3, 1, 0)
    dropped = read_incidents(source, "America/Chicago", JANUARY, CHICAGO, "drop")
    assert dropped.dropped == expected | {"duplicate": 1}
    assert (len(dropped.frame), dropped.duplicates, dropped.duplicates_dropped) == (2, 1, 1)
    for table in (kept, dropped):
        assert table.rows_read == len(lines) == len(table.frame) + sum(table.dropped.values())
    order = [r if not r.startswith("filtered:") else "filtered:<column>" for r in dropped.dropped]
    assert order == [r for r in DROP_REASONS if r in order]  # counted in the documented order


def test_swapped_without_bbox_uses_latitude_range(tmp_path):
    lines = [
        "2016-01-05 10:00,-118.2,34.0,A",  # |lat| > 90, |lon| <= 90: swapped
        "2016-01-05 10:00,95.0,100.0,A",  # |lat| > 90 but |lon| > 90: out of range
        "2016-01-05 10:00,34.0,-118.2,A",  # kept
    ]
    table = read_incidents(mapped(tmp_path, lines), "America/Los_Angeles", JANUARY, None)
    assert table.dropped == {"swapped_coordinates": 1, "out_of_range_coordinates": 1}
    assert table.frame[["lat", "lon"]].values.tolist() == [[34.0, -118.2]]


def test_bbox_is_inclusive_on_every_edge(tmp_path):
    lines = [
        "2016-01-05 10:00,41.5,-87.7,A",
        "2016-01-05 10:00,42.0,-87.7,A",
        "2016-01-05 10:00,41.8,-88.0,A",
        "2016-01-05 10:00,41.8,-87.5,A",
        "2016-01-05 10:00,41.4999,-87.7,A",
        "2016-01-05 10:00,42.0001,-87.7,A",
        "2016-01-05 10:00,41.8,-88.0001,A",
        "2016-01-05 10:00,41.8,-87.4999,A",
    ]
    table = read_incidents(mapped(tmp_path, lines), "America/Chicago", JANUARY, CHICAGO)
    assert table.frame[["lat", "lon"]].values.tolist() == [
        [41.5, -87.7],
        [42.0, -87.7],
        [41.8, -88.0],
        [41.8, -87.5],
    ]
    assert table.dropped == {"outside_bbox": 4}


def test_calendar_start_inclusive_end_exclusive_in_local_time(tmp_path):
    lines = [
        "2015-12-31 23:59,41.8,-87.6,A",  # 2016-01-01 05:59 UTC, but local 2015: dropped
        "2016-01-01 00:00,41.8,-87.6,A",
        "2016-01-31 23:59,41.8,-87.6,A",
        "2016-02-01 00:00,41.8,-87.6,A",
    ]
    table = read_incidents(mapped(tmp_path, lines), "America/Chicago", JANUARY, None)
    assert [str(t) for t in table.frame["time"]] == [
        "2016-01-01 00:00:00-06:00",
        "2016-01-31 23:59:00-06:00",
    ]
    assert table.dropped == {"outside_calendar": 2}


def test_duplicates_use_every_mapped_column(tmp_path):
    lines = [
        "2016-01-05 10:00,41.8,-87.6,A",
        "2016-01-05 10:00,41.8,-87.6,A",
        "2016-01-05 10:00,41.8,-87.6,A",
        "2016-01-05 10:00,41.8,-87.6,B",  # other crime type: not a duplicate
        "2016-01-05 10:01,41.8,-87.6,A",  # other minute: not a duplicate
    ]
    keep = read_incidents(mapped(tmp_path, lines), "America/Chicago", JANUARY, None, "keep")
    drop = read_incidents(mapped(tmp_path, lines), "America/Chicago", JANUARY, None, "drop")
    assert (len(keep.frame), keep.duplicates, keep.dropped) == (5, 2, {})
    assert (len(drop.frame), drop.duplicates, drop.dropped) == (3, 2, {"duplicate": 2})
    assert drop.frame["crime_type"].tolist() == ["A", "B", "A"]


def test_rows_with_distinct_incident_ids_are_not_duplicates(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("id,t,lat,lon\n1,2016-01-05 10:00,41.8,-87.6\n2,2016-01-05 10:00,41.8,-87.6\n")
    source = IncidentSource(
        path=str(path),
        columns=ColumnMap(datetime="t", lat="lat", lon="lon", incident_id="id"),
        datetime_formats=("%Y-%m-%d %H:%M",),
    )
    table = read_incidents(source, "America/Chicago", JANUARY, None, "drop")
    assert (len(table.frame), table.duplicates) == (2, 0)


@pytest.mark.parametrize("duplicates", ["keep", "drop"])
def test_adjusted_counts_only_rows_in_the_table(tmp_path, duplicates):
    lines = ["2016-11-06 01:30,41.8,-87.6,A"] * 2 + ["2016-11-06 01:30,50.0,-87.6,A"]
    source = mapped(tmp_path, lines)
    table = read_incidents(source, "America/Chicago", CAL_NOV, CHICAGO, duplicates)
    assert table.adjusted == {"dst_ambiguous": 2 if duplicates == "keep" else 1}
    assert table.dropped.get("outside_bbox") == 1
