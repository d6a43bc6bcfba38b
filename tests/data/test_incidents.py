"""Incident readers: every format, time zones and DST, the canonical schema."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import get_args

import pandas as pd
import pytest

from fase.config.dataset import BBox, Calendar, ColumnMap, IncidentFormat, IncidentSource
from fase.data import incidents as incidents_module
from fase.data.incident_formats import FORMATS
from fase.data.incidents import read_incidents

CAL_2016 = Calendar(start="2016-01-01", end="2017-01-01")


def write(tmp_path: Path, text: str, name: str = "incidents.csv", bom: bool = False) -> Path:
    path = tmp_path / name
    data = (("\ufeff" if bom else "") + text).encode("utf-8")
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


def utc(table) -> list[str]:
    """The kept times as UTC ISO strings (the instants, independent of the zone)."""
    return [t.isoformat() for t in table.frame["time"].dt.tz_convert("UTC")]


def test_every_config_format_has_defaults():
    assert set(FORMATS) | {"auto"} == set(get_args(IncidentFormat))  # auto: one of them


def test_canonical_schema(tmp_path):
    path = write(tmp_path, "CrimeDateTime,Latitude,Longitude\n2016-05-01 10:00:00,41.8,-87.6\n")
    table = read_incidents(
        IncidentSource(path=str(path), format="fase_processed"), "America/Chicago", CAL_2016, None
    )
    frame = table.frame
    assert list(frame.columns) == ["time", "lat", "lon", "crime_type"]
    assert str(frame["time"].dtype) == "datetime64[ns, America/Chicago]"
    assert frame["lat"].dtype == "float64" and frame["lon"].dtype == "float64"
    assert frame["crime_type"].tolist() == ["UNKNOWN"]  # no Description column
    assert (table.rows_read, table.dropped, table.adjusted, table.duplicates) == (1, {}, {}, 0)
    assert table.time_precision == "hour" and table.source == path


def test_baltimore_legacy_mixed_us_and_utc_styles(tmp_path):
    path = write(
        tmp_path,
        "CrimeDateTime,CrimeCode,Location,Description,Latitude,Longitude\n"
        "07/18/2019 01:30:00 PM,4E,1 X ST,COMMON ASSAULT,39.29,-76.67\n"
        "2019/07/18 13:00:00+00,6C,2 Y ST,LARCENY,39.30,-76.60\n"
        "01/05/2018 12:15:00 AM,5A,3 Z ST,BURGLARY,39.31,-76.61\n",
        bom=True,  # Open Baltimore exports start with a byte-order mark
    )
    table = read_incidents(
        IncidentSource(path=str(path), format="baltimore_legacy"),
        "America/New_York",
        Calendar(start="2018-01-01", end="2020-01-01"),
        BBox(lat_min=39.197, lat_max=39.372, lon_min=-76.713, lon_max=-76.529),
    )
    # 13:30 EDT = 17:30 UTC; 13:00 UTC stays 13:00 UTC; 00:15 EST = 05:15 UTC
    assert utc(table) == [
        "2019-07-18T17:30:00+00:00",
        "2019-07-18T13:00:00+00:00",
        "2018-01-05T05:15:00+00:00",
    ]
    assert table.frame["time"].iloc[1].isoformat() == "2019-07-18T09:00:00-04:00"
    assert table.adjusted == {"utc_converted": 1}
    assert table.frame["crime_type"].tolist() == ["COMMON ASSAULT", "LARCENY", "BURGLARY"]
    assert table.frame["CrimeCode"].tolist() == ["4E", "6C", "5A"]
    assert "Location" not in table.frame


def test_chicago_portal_without_header_auto_detected(tmp_path):
    text = (
        "10/12/2017 07:14:00 PM,CRIMINAL DAMAGE,41.918711651,-87.76551063\n"
        "01/01/2017 12:00:00 AM,THEFT,41.84,-87.70\n"
    )
    path = write(tmp_path, text, "chi.csv.gz")
    cal = Calendar(start="2017-01-01", end="2018-01-01")
    auto = read_incidents(
        IncidentSource(path=str(path), format="chicago_portal"), "America/Chicago", cal, None
    )
    explicit = read_incidents(
        IncidentSource(path=str(path), format="chicago_portal", header=False),
        "America/Chicago",
        cal,
        None,
    )
    pd.testing.assert_frame_equal(auto.frame, explicit.frame)
    assert auto.rows_read == 2  # the first line is data, not a header
    assert utc(auto) == ["2017-10-13T00:14:00+00:00", "2017-01-01T06:00:00+00:00"]
    assert auto.frame["lat"].iloc[0] == pytest.approx(41.918711651, abs=1e-12)
    assert auto.frame["crime_type"].tolist() == ["CRIMINAL DAMAGE", "THEFT"]


@pytest.mark.parametrize(
    ("header", "row"),
    [
        (
            "ID,Case Number,Date,Block,Primary Type,Arrest,Latitude,Longitude,Location",
            '11023904,JA3546,07/19/2017 01:45:00 PM,W X,THEFT,false,41.76,-87.68,"(41.7, -87.6)"',
        ),
        (
            "id,case_number,date,block,primary_type,arrest,latitude,longitude,location",
            '11023904,JA3546,7/19/2017 13:45,W X,THEFT,False,41.76,-87.68,"(41.7, -87.6)"',
        ),
    ],
)
def test_chicago_portal_with_header(tmp_path, header, row):
    path = write(tmp_path, f"{header}\n{row}\n")
    table = read_incidents(
        IncidentSource(path=str(path), format="chicago_portal"),
        "America/Chicago",
        Calendar(start="2017-01-01", end="2018-01-01"),
        None,
    )
    assert list(table.frame.columns) == ["time", "lat", "lon", "crime_type", "incident_id"]
    assert utc(table) == ["2017-07-19T18:45:00+00:00"]
    assert table.frame["incident_id"].tolist() == ["11023904"]
    assert table.frame["crime_type"].tolist() == ["THEFT"]


def test_nypd_ignores_day_of_week(tmp_path):
    path = write(
        tmp_path,
        "Occurrence Date,Day of Week,Offense,Sector,Precinct,Latitude,Longitude\n"
        "10/02/2015 12:11:00 PM,Monday,GRAND LARCENY,B,25,40.8043840460001,-73.9374216689999\n",
    )
    table = read_incidents(
        IncidentSource(path=str(path), format="nypd"),
        "America/New_York",
        Calendar(start="2015-01-01", end="2016-01-01"),
        None,
    )
    assert "Day of Week" not in table.frame
    assert table.frame["time"].dt.day_name().tolist() == ["Friday"]  # from the date, not 'Monday'
    assert utc(table) == ["2015-10-02T16:11:00+00:00"]
    assert table.frame[["crime_type", "Precinct", "Sector"]].values.tolist() == [
        ["GRAND LARCENY", "25", "B"]
    ]


def test_baltimore_geocoded_dates_keep_if_and_missing(tmp_path):
    path = write(
        tmp_path,
        "RowID,CrimeDateT,CrimeCode,Descriptio,Latitude,Longitude,date,lon,lat,geocode_quality\n"
        "1,2019-07-18,4E,COMMON ASSAULT,0,0,2019-07-18,-76.677497,39.290924,exact_range\n"
        "2,2019-07-18,5A,BURGLARY,0,0,2019-07-18,,,ambiguous\n"  # not geocoded
        "3,2019-11-03,6C,LARCENY,0,0,2019-11-03,-76.6,39.3,block\n"
        "4,2019-07-19,6C,LARCENY,0,0,2019-07-19,-76.61,39.31,no_block\n",  # fails keep_if
    )
    source = IncidentSource(
        path=str(path),
        format="baltimore_geocoded",
        keep_if={"geocode_quality": ("exact_range", "block")},
    )
    table = read_incidents(
        source, "America/New_York", Calendar(start="2019-01-01", end="2020-01-01"), None
    )
    assert table.time_precision == "day"
    assert table.dropped == {"missing_coordinates": 1, "filtered:geocode_quality": 1}
    # local midnight: EDT (UTC-4) in July, and on the fall-back day 2019-11-03 still EDT at 00:00
    assert utc(table) == ["2019-07-18T04:00:00+00:00", "2019-11-03T04:00:00+00:00"]
    assert table.frame["lat"].tolist() == [39.290924, 39.3]  # 'lat', not the zero 'Latitude'
    assert table.frame["crime_type"].tolist() == ["COMMON ASSAULT", "LARCENY"]
    assert table.frame["CrimeCode"].tolist() == ["4E", "6C"]


def test_lapd_mixed_dates_and_hhmm_times(tmp_path):
    path = write(
        tmp_path,
        "DR_NO,Date Rptd,DATE OCC,TIME OCC,AREA,Crm Cd Desc,Vict Age,LAT,LON\n"
        "010304468,01/08/2020 00:00,01/08/2020 12:00:00 AM,2230,03,BATTERY,36,34.0141,-118.2978\n"
        "190101086,01/02/2020 00:00,01/01/2020 00:00,0330,01,ROBBERY,25,34.0459,-118.2545\n"
        "200815333,10/15/2020 0:00,1/8/2020 0:00,5,8,THEFT,0,34.0701,-118.4679\n"
        "200815334,10/15/2020 0:00,7/4/2020 0:00,1230,8,THEFT,0,34.0701,-118.4679\n"
        "200815335,10/15/2020 0:00,7/4/2020 0:00,12:45,8,THEFT,0,34.0701,-118.4679\n"
        "200815336,10/15/2020 0:00,7/4/2020 0:00,2400,8,THEFT,0,34.0701,-118.4679\n"
        "200815337,10/15/2020 0:00,7/4/2020 0:00,1261,8,THEFT,0,34.0701,-118.4679\n"
        "200815338,10/15/2020 0:00,7/4/2020 0:00,100,8,THEFT,0,0,0\n",
    )
    table = read_incidents(
        IncidentSource(path=str(path), format="lapd"),
        "America/Los_Angeles",
        Calendar(start="2020-01-01", end="2021-01-01"),
        None,
    )
    assert [t.strftime("%Y-%m-%d %H:%M") for t in table.frame["time"]] == [
        "2020-01-08 22:30",
        "2020-01-01 03:30",
        "2020-01-08 00:05",
        "2020-07-04 12:30",
        "2020-07-04 12:45",
    ]
    assert utc(table)[0] == "2020-01-09T06:30:00+00:00"  # PST = UTC-8
    assert utc(table)[3] == "2020-07-04T19:30:00+00:00"  # PDT = UTC-7
    assert table.dropped == {"unparseable_datetime": 2, "zero_coordinates": 1}  # 2400, 1261; (0, 0)
    assert table.frame["incident_id"].tolist()[:2] == ["010304468", "190101086"]
    assert list(table.frame.columns) == [
        "time",
        "lat",
        "lon",
        "crime_type",
        "incident_id",
        "AREA",
        "Vict Age",
    ]  # absent extras are skipped
    assert table.time_precision == "hour"


def test_mapped_semicolon_headerless_with_names(tmp_path):
    path = write(tmp_path, "01.02.2016 14:05;41,80;X;41.80;-87.60\n")
    source = IncidentSource(
        path=str(path),
        format="mapped",
        header=False,
        delimiter=";",
        names=("when", "junk", "kind", "y", "x"),
        datetime_formats=("%d.%m.%Y %H:%M",),
        columns=ColumnMap(datetime="when", lat="y", lon="x", crime_type="kind"),
    )
    table = read_incidents(source, "America/Chicago", CAL_2016, None)
    assert utc(table) == ["2016-02-01T20:05:00+00:00"]
    assert table.frame[["lat", "lon", "crime_type"]].values.tolist() == [[41.8, -87.6, "X"]]


def test_mapped_date_plus_time_columns(tmp_path):
    path = write(
        tmp_path, "d,t,la,lo\n2016-03-13,02:30,41.8,-87.6\n2016-03-13,1:15:30,41.8,-87.6\n"
    )
    source = IncidentSource(
        path=str(path),
        columns=ColumnMap(date="d", time="t", lat="la", lon="lo"),
        datetime_formats=("%Y-%m-%d",),
    )
    table = read_incidents(source, "America/Chicago", CAL_2016, None)
    # 02:30 is in the spring-forward gap: shifted to 03:00 CDT; 01:15:30 CST
    assert utc(table) == ["2016-03-13T08:00:00+00:00", "2016-03-13T07:15:30+00:00"]
    assert table.adjusted == {"dst_nonexistent": 1}


def test_dst_spring_forward_and_fall_back_in_chicago(tmp_path):
    path = write(
        tmp_path,
        "CrimeDateTime,Latitude,Longitude\n"
        "2016-03-13 01:59:00,41.8,-87.6\n"  # CST
        "2016-03-13 02:30:00,41.8,-87.6\n"  # gap: shifted forward to 03:00 CDT
        "2016-03-13 03:00:00,41.8,-87.6\n"  # CDT
        "2016-11-06 00:59:00,41.8,-87.6\n"  # CDT
        "2016-11-06 01:30:00,41.8,-87.6\n"  # happens twice: read as the first (CDT)
        "2016-11-06 02:00:00,41.8,-87.6\n",  # CST
    )
    table = read_incidents(
        IncidentSource(path=str(path), format="fase_processed"), "America/Chicago", CAL_2016, None
    )
    assert utc(table) == [
        "2016-03-13T07:59:00+00:00",
        "2016-03-13T08:00:00+00:00",
        "2016-03-13T08:00:00+00:00",
        "2016-11-06T05:59:00+00:00",
        "2016-11-06T06:30:00+00:00",
        "2016-11-06T08:00:00+00:00",
    ]
    assert table.adjusted == {"dst_ambiguous": 1, "dst_nonexistent": 1}
    assert table.duplicates == 1  # 02:30 shifted onto 03:00 at the same place


def test_utc_input_converted_and_keeps_both_fall_back_hours(tmp_path):
    path = write(
        tmp_path,
        "CrimeDateTime,Latitude,Longitude\n"
        "2016-03-13 08:30:00,41.8,-87.6\n"
        "2016-11-06 06:30:00,41.8,-87.6\n"
        "2016-11-06 07:30:00,41.8,-87.6\n",
    )
    source = IncidentSource(path=str(path), format="fase_processed", input_utc=True)
    table = read_incidents(source, "America/Chicago", CAL_2016, None)
    assert [t.isoformat() for t in table.frame["time"]] == [
        "2016-03-13T03:30:00-05:00",
        "2016-11-06T01:30:00-05:00",
        "2016-11-06T01:30:00-06:00",
    ]
    assert table.adjusted == {"utc_converted": 3}


def test_offset_suffixes_parse_as_instants(tmp_path):
    path = write(
        tmp_path,
        "t,lat,lon\n2016-06-01T12:00:00Z,41.8,-87.6\n2016-06-01T12:00:00+05:30,41.8,-87.6\n",
    )
    source = IncidentSource(
        path=str(path),
        columns=ColumnMap(datetime="t", lat="lat", lon="lon"),
        datetime_formats=("%Y-%m-%dT%H:%M:%S%z",),
    )
    table = read_incidents(source, "America/Chicago", CAL_2016, None)
    assert utc(table) == ["2016-06-01T12:00:00+00:00", "2016-06-01T06:30:00+00:00"]
    assert table.adjusted == {"utc_converted": 2}


def test_day_precision_set_in_config_floors_to_local_midnight(tmp_path):
    path = write(tmp_path, "CrimeDateTime,Latitude,Longitude\n2016-07-04 23:59:00,41.8,-87.6\n")
    source = IncidentSource(path=str(path), format="fase_processed", time_precision="day")
    table = read_incidents(source, "America/Chicago", CAL_2016, None)
    assert table.time_precision == "day"
    assert utc(table) == ["2016-07-04T05:00:00+00:00"]


def test_chunked_reading_gives_the_same_table(tmp_path, monkeypatch):
    rows = [f"2016-01-0{1 + i % 3} 0{i % 2}:00:00,41.{i % 3},-87.6" for i in range(23)]
    rows[4:8] = ["never,41.8,-87.6"] * 4  # one whole 4-row chunk dropped
    path = write(tmp_path, "CrimeDateTime,Latitude,Longitude\n" + "\n".join(rows) + "\n")
    source = IncidentSource(path=str(path), format="fase_processed")
    whole = read_incidents(source, "America/Chicago", CAL_2016, None, "drop")
    monkeypatch.setattr(incidents_module, "CHUNK_ROWS", 4)
    chunked = read_incidents(source, "America/Chicago", CAL_2016, None, "drop")
    pd.testing.assert_frame_equal(whole.frame, chunked.frame)
    assert (chunked.duplicates, chunked.dropped) == (whole.duplicates, whole.dropped)
    valid = rows[:4] + rows[8:]
    assert whole.dropped == {"unparseable_datetime": 4, "duplicate": 19 - len(set(valid))}
    assert len(whole.frame) == len(set(valid)) == 6
