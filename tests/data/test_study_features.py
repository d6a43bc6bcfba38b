"""The model-zoo study's representation per area and bin, by hand: the previous day's
incidents (preprocessed with training-only statistics, averaged), the bin's calendar,
the area's coordinates and crime density; causal; and end to end from an LAPD file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.helpers.city import cell_center, write_city

from fase.config import load_config
from fase.data.pipeline import build_dataset
from fase.data.study_features import (
    EMPTY,
    LAPD_FIELDS,
    OTHER,
    StudyFeatures,
    study_features,
    study_features_for_run,
)
from fase.errors import FaseInputError

TZ = "America/Los_Angeles"
# Six local days from Monday 2021-03-01 (day of year 60); training = days 0..3.
DAYS = pd.date_range("2021-03-01", periods=6, freq="D", tz=TZ)
BIN_START = DAYS.tz_convert("UTC").as_unit("ns").asi8
TRAIN_END = 4
CENTROIDS = np.array([[-118.5, 34.0], [-118.4, 34.1], [-118.45, 34.2]])
AREA_KM2 = np.array([1.0, 0.5, 2.0])

# One row per incident: node (−1 unassigned), bin (−1 outside the bins) and the fields.
# Training ages observed: 20, 40, 60, 30 → min 20, max 60, median 35 (age 0 is missing).
ROWS = [
    # node, bin, age, sex, premise, weapon, crime type
    (0, 0, 20, "F", "STREET", None, "THEFT"),  # a
    (0, 1, 40, "M", "HOME", "KNIFE", "BATTERY"),  # b
    (0, 1, 0, None, "STREET", None, "THEFT"),  # c: age unknown → 35; sex → mode F
    (1, 0, 60, "F", "HOME", "GUN", "THEFT"),  # d
    (1, 3, 30, "M", "STREET", None, "BATTERY"),  # e
    (0, 4, 99, "X", "PARK", None, "THEFT"),  # f: test period only (age, sex, premise)
    (1, 5, 25, "M", "HOME", None, "THEFT"),  # g: test period
    (-1, 2, 10, "F", "STREET", None, "THEFT"),  # unassigned: ignored
    (0, -1, 10, "F", "STREET", None, "THEFT"),  # outside the bins: ignored
]
SCALED_AGE = {"a": 0.0, "b": 0.5, "c": 0.375, "d": 1.0, "e": 0.25}  # (age − 20) / 40


def table(rows=ROWS) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    frame = pd.DataFrame(
        [r[2:] for r in rows],
        columns=["Vict Age", "Vict Sex", "Premis Desc", "Weapon Desc", "crime_type"],
    )
    frame["Vict Age"] = frame["Vict Age"].astype(str)  # as read from a CSV
    return frame, np.array([r[0] for r in rows]), np.array([r[1] for r in rows])


def build(rows=ROWS, **kwargs) -> StudyFeatures:
    frame, node, bins = table(rows)
    settings = {
        "num_nodes": 3,
        "num_steps": 6,
        "train_end": TRAIN_END,
        "bins_per_day": 1,
        "bin_start": BIN_START,
        "timezone": TZ,
        "centroids": CENTROIDS,
        "area_km2": AREA_KM2,
    } | kwargs
    return study_features(frame, node, bins, **settings)


def column(out: StudyFeatures, name: str) -> np.ndarray:
    return out.x[:, :, out.names.index(name)]


def test_columns_and_skipped_fields() -> None:
    out = build()
    assert out.x.dtype == np.float32 and out.x.shape == (3, 6, len(out.names))
    assert out.names == [
        "prev_day:Vict Age",
        "prev_day:Vict Sex=F",
        "prev_day:Vict Sex=M",
        "prev_day:Premis Desc=HOME",
        "prev_day:Premis Desc=STREET",
        "prev_day:Weapon Desc=GUN",
        "prev_day:Weapon Desc=KNIFE",
        "prev_day:Weapon Desc=NONE",  # empty weapon = none used, not the mode
        "prev_day:crime_type=BATTERY",
        "prev_day:crime_type=THEFT",
        EMPTY,
        "day_of_week",
        "hour",
        "day_of_year",
        "centroid_lon",
        "centroid_lat",
        "crime_density",
    ]
    assert out.skipped == {"Vict Descent": "not in the incident file"}


def test_previous_day_means_by_hand() -> None:
    out = build()
    age = column(out, "prev_day:Vict Age")
    # area 0, bin 2: the incidents of bin 1 (b, c): ages 40 and imputed 35 → 37.5
    assert age[0, 2] == pytest.approx((37.5 - 20) / 40)
    assert age[0, 2] == pytest.approx((SCALED_AGE["b"] + SCALED_AGE["c"]) / 2)
    assert column(out, "prev_day:Vict Sex=F")[0, 2] == pytest.approx(0.5)  # c imputed F
    assert column(out, "prev_day:Weapon Desc=KNIFE")[0, 2] == pytest.approx(0.5)
    assert column(out, "prev_day:Weapon Desc=NONE")[0, 2] == pytest.approx(0.5)
    assert age[0, 1] == pytest.approx(0.0)  # a alone
    assert age[1, 1] == pytest.approx(1.0) and age[1, 4] == pytest.approx(0.25)  # d; e
    # bin 3 is not yesterday's neighbour of bin 1: area 0 has no incident in bin 2
    assert column(out, EMPTY)[0, 3] == 1.0 and column(out, EMPTY)[0, 2] == 0.0


def test_empty_window_takes_the_training_mean_and_flags_it() -> None:
    out = build()
    age, empty = column(out, "prev_day:Vict Age"), column(out, EMPTY)
    typical = np.mean(list(SCALED_AGE.values()))  # 0.425
    assert empty[:, 0].tolist() == [1.0, 1.0, 1.0]  # nothing before the first bin
    assert empty[2].tolist() == [1.0] * 6  # area 2 never has an incident
    assert age[2] == pytest.approx([typical] * 6)
    assert age[1, 2] == pytest.approx(typical)  # area 1 had nothing in bin 1
    street = column(out, "prev_day:Premis Desc=STREET")
    assert street[2, 0] == pytest.approx(3 / 5)  # a, c, e of the five training incidents


def test_calendar_of_the_bin_in_local_time() -> None:
    out = build()
    np.testing.assert_allclose(column(out, "day_of_week")[1], np.arange(6) / 6)  # Mon..Sat
    np.testing.assert_array_equal(column(out, "hour")[0], 0.0)  # local midnight, not 08:00 UTC
    np.testing.assert_allclose(column(out, "day_of_year")[2], (59 + np.arange(6)) / 365)
    hours = pd.date_range("2021-03-01 00:00", periods=6, freq="6h", tz=TZ)
    frame, node, bins = table()
    six_hourly = study_features(
        frame,
        node,
        bins,
        num_nodes=3,
        num_steps=6,
        train_end=TRAIN_END,
        bins_per_day=4,
        bin_start=hours.tz_convert("UTC").as_unit("ns").asi8,
        timezone=TZ,
        centroids=CENTROIDS,
        area_km2=AREA_KM2,
    )
    np.testing.assert_allclose(column(six_hourly, "hour")[0], [0, 6, 12, 18, 0, 6] / np.float32(23))
    np.testing.assert_allclose(column(six_hourly, "day_of_week")[0], [0, 0, 0, 0, 1 / 6, 1 / 6])


def test_area_columns_coordinates_and_training_density() -> None:
    out = build()
    np.testing.assert_allclose(column(out, "centroid_lon")[:, 3], [0.0, 1.0, 0.5])
    np.testing.assert_allclose(column(out, "centroid_lat")[:, 3], [0.0, 0.5, 1.0])
    # training incidents per km²: area 0: 3 / 1, area 1: 2 / 0.5, area 2: 0 → 3, 4, 0
    np.testing.assert_allclose(column(out, "crime_density")[:, 5], [0.75, 1.0, 0.0])


def test_a_bin_never_sees_its_own_or_later_incidents() -> None:
    base = build()
    changed_rows = [*ROWS]
    changed_rows[5] = (0, 4, 33, "F", "HOME", "GUN", "BATTERY")  # f rewritten, bin 4
    changed_rows.append((0, 4, 45, "M", "STREET", None, "THEFT"))  # one more in bin 4
    changed = build(changed_rows)
    np.testing.assert_array_equal(changed.x[:, :5], base.x[:, :5])  # bins ≤ 4 unchanged
    assert not np.array_equal(changed.x[0, 5], base.x[0, 5])  # bin 5 reads bin 4
    age = column(changed, "prev_day:Vict Age")
    assert age[0, 5] == pytest.approx(((33 - 20) / 40 + (45 - 20) / 40) / 2)


def test_the_window_is_the_bins_of_the_previous_day() -> None:
    rows = [
        (0, 0, 20, "F", "STREET", None, "THEFT"),
        (0, 3, 60, "F", "STREET", None, "THEFT"),
        (0, 4, 40, "M", "HOME", None, "THEFT"),
    ]
    hours = pd.date_range("2021-03-01", periods=10, freq="6h", tz="UTC")
    frame, node, bins = table(rows)
    out = study_features(
        frame,
        node,
        bins,
        num_nodes=1,
        num_steps=10,
        train_end=8,
        bins_per_day=4,  # 6-hour bins: the previous day is the 4 bins before
        bin_start=hours.as_unit("ns").asi8,
        timezone="UTC",
        centroids=CENTROIDS[:1],
        area_km2=AREA_KM2[:1],
    )
    age = column(out, "prev_day:Vict Age")[0]  # scaled (age − 20) / 40
    assert age[4] == pytest.approx(0.5)  # bins 0..3: 20 and 60
    assert age[5] == pytest.approx(0.75)  # bins 1..4: 60 and 40 (bin 0 left the window)
    assert age[8] == pytest.approx(0.5)  # bins 4..7: 40
    assert column(out, EMPTY)[0].tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 0, 1]


def test_statistics_and_categories_come_from_training_incidents_only() -> None:
    out = build()
    age = out.preprocessor.numeric["Vict Age"]
    assert (age.minimum, age.maximum, age.median) == (20.0, 60.0, 35.0)  # not 99
    assert not [n for n in out.names if "PARK" in n or n.endswith("=X")]  # test-only values
    assert column(out, "prev_day:Vict Age")[0, 5] == pytest.approx((99 - 20) / 40)  # not clipped
    premise = [column(out, f"prev_day:Premis Desc={v}")[0, 5] for v in ("HOME", "STREET")]
    assert premise == [0.0, 0.0]  # PARK, unseen in training: zeros
    training_only = build([r for r in ROWS if r[1] < TRAIN_END])
    np.testing.assert_array_equal(training_only.x[:, : TRAIN_END + 1], out.x[:, : TRAIN_END + 1])


def test_rare_and_unseen_categories_are_lumped_beyond_max_categories() -> None:
    out = build(max_categories=1)
    names = [n for n in out.names if n.startswith("prev_day:Premis Desc")]
    assert names == [f"prev_day:Premis Desc={OTHER}", "prev_day:Premis Desc=STREET"]
    assert column(out, f"prev_day:Premis Desc={OTHER}")[0, 2] == pytest.approx(0.5)  # b HOME
    assert column(out, f"prev_day:Premis Desc={OTHER}")[0, 5] == pytest.approx(1.0)  # f PARK
    assert "prev_day:Weapon Desc=NONE" in out.names  # 3 NONE vs 1 KNIFE, 1 GUN


def test_unusable_inputs_are_refused() -> None:
    frame, node, bins = table()
    with pytest.raises(FaseInputError, match="training bins"):
        build([r for r in ROWS if r[1] >= TRAIN_END])
    with pytest.raises(FaseInputError, match="none of the study's incident-level fields"):
        study_features(
            frame[[]],
            node,
            bins,
            num_nodes=3,
            num_steps=6,
            train_end=TRAIN_END,
            bins_per_day=1,
            bin_start=BIN_START,
            timezone=TZ,
            centroids=CENTROIDS,
            area_km2=AREA_KM2,
        )
    with pytest.raises(ValueError, match="centroids"):
        build(centroids=CENTROIDS[:2])


# End to end: an LAPD-format file on the 3×3 test grid, read as Phase 1 reads it.
# (day, node 1..9, age, sex, descent, premise, weapon, crime); days from 2021-03-01.
LAPD_ROWS = [
    (0, 5, 20, "F", "W", "STREET", "", "THEFT", "1030"),
    (1, 5, 40, "M", "H", "HOME", "KNIFE", "BATTERY", "0900"),
    (1, 5, 0, "", "", "STREET", "", "THEFT", "2359"),
    (1, 1, 60, "F", "B", "HOME", "", "THEFT", "1200"),
    (3, 9, 30, "M", "W", "STREET", "", "BURGLARY", "5"),
    (8, 5, 99, "X", "X", "PARK", "", "THEFT", "1300"),  # test period
    (15, 5, 30, "M", "W", "STREET", "", "THEFT", "1200"),  # outside the calendar
]


def lapd_city(tmp_path: Path):
    days = [pd.Timestamp("2021-03-01") + pd.Timedelta(days=r[0]) for r in LAPD_ROWS]
    centres = [cell_center(r[1]) for r in LAPD_ROWS]
    lapd = pd.DataFrame(
        {
            "DR_NO": range(len(LAPD_ROWS)),
            "DATE OCC": [d.strftime("%m/%d/%Y 12:00:00 AM") for d in days],
            "TIME OCC": [r[8] for r in LAPD_ROWS],
            "AREA": 8,
            "Crm Cd Desc": [r[7] for r in LAPD_ROWS],
            "Vict Age": [r[2] for r in LAPD_ROWS],
            "Vict Sex": [r[3] for r in LAPD_ROWS],
            "Vict Descent": [r[4] for r in LAPD_ROWS],
            "Premis Desc": [r[5] for r in LAPD_ROWS],
            "Weapon Desc": [r[6] for r in LAPD_ROWS],
            "Status": "IC",
            "LAT": [lat for _, lat in centres],
            "LON": [lon for lon, _ in centres],
        }
    )
    path = tmp_path / "lapd.csv"
    lapd.to_csv(path, index=False, float_format="%.10f")
    stub = pd.DataFrame({"time": ["2021-03-01 10:00:00"], "node": [5]})
    return write_city(
        tmp_path / "city",
        stub,
        "2021-03-01",
        "2021-03-11",
        extra_dataset={"incidents": {"path": str(path), "format": "lapd"}},
    )


@pytest.mark.parametrize("preset", ["default", "paper"])
def test_for_run_reads_and_aligns_an_lapd_file(tmp_path: Path, preset: str) -> None:
    city = lapd_city(tmp_path)
    cfg = load_config(config_path=city.config, preset=preset, overrides={"data": {"bin": "1D"}})
    tensors = build_dataset(cfg).tensors
    out = study_features_for_run(cfg, tensors)
    nodes = tensors.meta["node_ids"]
    assert out.x.shape[:2] == tensors.y.shape
    if preset == "paper":  # trimmed to days 0..8 and to the areas with incidents
        assert nodes == ["1", "5", "9"] and tensors.y.shape[1] == 9
    else:
        assert len(nodes) == 9 and tensors.y.shape[1] == 10
    assert tensors.split["train"][1] in (6, 7)  # days 0..5 or 0..6: the same incidents
    five, nine = nodes.index("5"), nodes.index("9")
    age = column(out, "prev_day:Vict Age")
    assert age[five, 2] == pytest.approx((37.5 - 20) / 40)  # day 1: 40 and imputed 35
    assert age[five, 1] == pytest.approx(0.0)  # day 0: 20
    if preset == "default":  # day 8's test incident, seen on day 9 (the paper trims day 9)
        assert age[five, 9] == pytest.approx((99 - 20) / 40)
    assert column(out, "prev_day:Vict Descent=W")[five, 1] == pytest.approx(1.0)
    assert column(out, "prev_day:crime_type=BURGLARY")[nine, 4] == pytest.approx(1.0)
    assert column(out, EMPTY)[nine, 3] == 1.0
    counts = np.array([{"1": 1, "5": 3, "9": 1}.get(i, 0) for i in nodes], dtype=float)
    low, high = counts.min(), counts.max()  # paper: 1 (areas 1, 9); default: 0 (area 2 …)
    equal = study_features_for_run(cfg, tensors, area_km2=np.full(len(nodes), 2.0))
    np.testing.assert_allclose(column(equal, "crime_density")[:, 0], (counts - low) / (high - low))
    measured = column(out, "crime_density")[:, 0]  # the grid's cells: about equal areas
    assert measured[five] == pytest.approx(1.0) and measured.min() == 0.0
    assert "prev_day:Premis Desc=PARK" not in out.names
    assert column(out, "day_of_week")[0, 0] == 0.0  # Monday 2021-03-01


def test_for_run_refuses_a_file_without_incident_level_fields(tmp_path: Path) -> None:
    stub = pd.DataFrame({"time": ["2021-03-01 10:00:00", "2021-03-02 10:00:00"], "node": [5, 1]})
    city = write_city(tmp_path / "city", stub, "2021-03-01", "2021-03-04")
    cfg = load_config(config_path=city.config, overrides={"data": {"bin": "1D"}})
    tensors = build_dataset(cfg).tensors
    with pytest.raises(FaseInputError, match=r"'grid'.*no incident-level fields"):
        study_features_for_run(cfg, tensors)


def test_lapd_fields_are_the_lapd_formats_columns() -> None:
    from fase.data.incident_formats import FORMATS

    columns = FORMATS["lapd"].columns
    assert columns is not None
    mapped = {*columns.extra, "crime_type"}
    assert {f.column for f in LAPD_FIELDS} <= mapped
