"""Crime descriptions of every supported source grouped into the eight categories."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.helpers.city import write_city

from fase.config import load_config
from fase.data.crime_types import CATEGORIES, CHICAGO_PRIMARY_TYPES, categorise, crime_category
from fase.phases.data import run_data_phases


def test_every_chicago_primary_type_has_a_category() -> None:
    assert set(CHICAGO_PRIMARY_TYPES.values()) <= set(CATEGORIES)
    # the four types of the embedded Chicago file
    assert [crime_category(t) for t in ("THEFT", "BATTERY", "CRIMINAL DAMAGE", "ASSAULT")] == [
        "THEFT",
        "VIOLENT",
        "DAMAGE",
        "VIOLENT",
    ]


@pytest.mark.parametrize(
    ("description", "category"),
    [
        # Chicago Primary Type
        ("NARCOTICS", "DRUGS"),
        ("WEAPONS VIOLATION", "WEAPONS"),
        ("DECEPTIVE PRACTICE", "THEFT"),
        ("CRIMINAL TRESPASS", "OTHER"),
        ("  motor vehicle   theft ", "THEFT"),  # case and spaces normalised
        # Baltimore Description
        ("COMMON ASSAULT", "VIOLENT"),
        ("AGG. ASSLT.- GUN", "VIOLENT"),
        ("ROBB HWY FIREARM", "ROBBERY"),
        ("ROBB CARJACK-KNIFE", "ROBBERY"),
        ("BURG. RES. (FORCE)", "BURGLARY"),
        ("LARCENY- FROM AUTO", "THEFT"),
        ("STOLEN AUTO", "THEFT"),
        ("ARSON MOTOR VEH", "DAMAGE"),
        ("SHOOTING", "VIOLENT"),
        ("RAPE (FORCE)", "VIOLENT"),
        # NYC Offense
        ("GRAND LARCENY", "THEFT"),
        ("FELONY ASSAULT", "VIOLENT"),
        # LA Crm Cd Desc
        ("BURGLARY FROM VEHICLE", "BURGLARY"),
        ("THEFT OF IDENTITY", "THEFT"),
        ("THEFT-GRAND ($950.01 & OVER)EXCPT,GUNS,FOWL,LIVESTK,PROD", "THEFT"),
        ("VANDALISM - FELONY ($400 & OVER, ALL CHURCH VANDALISMS)", "DAMAGE"),
        ("ASSAULT WITH DEADLY WEAPON, AGGRAVATED ASSAULT", "VIOLENT"),
        ("CRIMINAL THREATS - NO WEAPON DISPLAYED", "VIOLENT"),
        ("BRANDISH WEAPON", "WEAPONS"),
        ("DISCHARGE FIREARMS/SHOTS FIRED", "WEAPONS"),
        ("ATTEMPTED ROBBERY", "ROBBERY"),
        ("TRESPASSING", "OTHER"),
        ("DOCUMENT FORGERY / STOLEN FELONY", "THEFT"),
        # anything else
        ("UNKNOWN", "OTHER"),
        ("", "OTHER"),
    ],
)
def test_descriptions_by_source(description: str, category: str) -> None:
    assert crime_category(description) == category


def test_categorise_keeps_the_categories_that_occur_in_canonical_order() -> None:
    types = pd.Series(["THEFT", "NARCOTICS", "BATTERY", "UNKNOWN", "ASSAULT", "THEFT"])
    codes, names = categorise(types)
    assert names == ["VIOLENT", "THEFT", "DRUGS", "OTHER"]
    np.testing.assert_array_equal(codes, [1, 2, 0, 3, 0, 1])


def test_crime_type_channels_hold_the_categories(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "time": [f"2016-11-05 0{h}:10:00" for h in range(6)],
            "node": [1, 1, 2, 2, 5, 5],
            "type": ["THEFT", "BATTERY", "ROBB HWY FIREARM", "COMMON ASSAULT", "X", "THEFT"],
        }
    )
    city = write_city(tmp_path / "city", frame, "2016-11-05", "2016-11-06")
    cfg = load_config(config_path=city.config, overrides={"data": {"crime_type_channels": True}})
    tensors = run_data_phases(cfg, tmp_path / "run").phase1.tensors
    assert tensors.meta["crime_types"] == ["VIOLENT", "ROBBERY", "THEFT", "OTHER"]
    assert tensors.y_types is not None
    np.testing.assert_array_equal(tensors.y_types.sum(axis=-1), tensors.y)
    np.testing.assert_array_equal(tensors.y_types.sum(axis=(0, 1)), [2, 1, 2, 1])
