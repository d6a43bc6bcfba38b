"""Completing a dataset before Phase 1: fetched files, recognised formats, open periods;
and what Phase 1 says about data unfit for part of the audit (an area selection by
territory, a demographic feature without data, a group without areas)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from tests.helpers.city import City, grid_polygons, write_city

from fase.config import load_config
from fase.data.pipeline import build_dataset
from fase.data.resolve import observed_calendar, require_fetched, resolve_dataset
from fase.errors import FaseInputError

FRAME = pd.DataFrame(
    {
        "time": ["2021-03-01 10:00:00", "2021-03-02 11:00:00", "2021-03-04 23:30:00"],
        "node": [1, 5, 9],
    }
)


@pytest.fixture
def city(tmp_path: Path) -> City:
    return write_city(tmp_path / "city", FRAME, "2021-03-01", "2021-03-05", tz="UTC")


def config_of(city: City, **dataset_changes):
    """The city's config with ``dataset_changes`` made to its dataset."""
    cfg = load_config(config_path=city.config)
    return cfg.model_copy(update={"dataset": cfg.dataset.model_copy(update=dataset_changes)})


def test_a_missing_file_of_the_data_folder_names_the_fetch_command(
    city: City, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "data-root"
    monkeypatch.setenv("FASE_DATA_ROOT", str(root))
    cfg = load_config(config_path=city.config)
    areas = cfg.dataset.areas.model_copy(update={"path": str(root / "grid" / "areas.geojson")})
    dataset = cfg.dataset.model_copy(update={"areas": areas})
    with pytest.raises(FaseInputError) as caught:
        require_fetched(dataset)
    assert caught.value.source == "grid/areas.geojson"  # not a path of this machine
    assert "dataset 'grid' has not been fetched" in caught.value.problem
    assert "fase datasets fetch grid" in caught.value.hint
    require_fetched(cfg.dataset)  # files outside the data folder are the user's own


def test_an_open_calendar_is_the_span_of_the_incidents(city: City) -> None:
    cfg = config_of(city, calendar=None)
    calendar = observed_calendar(cfg.dataset)
    assert (str(calendar.start), str(calendar.end)) == ("2021-03-01", "2021-03-05")
    resolved = resolve_dataset(cfg)
    assert resolved.dataset.calendar == calendar
    assert resolve_dataset(resolved) is resolved  # already resolved: unchanged


def test_auto_format_is_recognised_once(city: City) -> None:
    incidents = load_config(config_path=city.config).dataset.incidents
    cfg = config_of(city, incidents=incidents.model_copy(update={"format": "auto"}))
    assert resolve_dataset(cfg).dataset.incidents.format == "fase_processed"


def test_areas_are_selected_by_their_territory(city: City, tmp_path: Path) -> None:
    """A territory of cells 1, 2, 4, 5 (a 'division'): the areas are those four; the
    incident in cell 9 falls outside and is counted as such."""
    divisions = grid_polygons()
    divisions["division"] = ["west" if n in (1, 2, 4, 5) else "east" for n in divisions["area"]]
    path = tmp_path / "divisions.geojson"
    divisions.dissolve("division").reset_index().to_file(path, driver="GeoJSON")
    config = yaml.safe_load(city.config.read_text())
    config["dataset"]["areas"] |= {
        "selection": "internal_point_in_territory",
        "territory": {"path": str(path), "column": "division", "value": "west"},
        "nearest_max_m": 0,
    }
    city.config.write_text(yaml.safe_dump(config))
    result = build_dataset(load_config(config_path=city.config))
    assert result.tensors.meta["node_ids"] == ["1", "2", "4", "5"]
    assert int(result.tensors.y.sum()) == 2
    config["dataset"]["areas"]["territory"]["value"] = "north"
    city.config.write_text(yaml.safe_dump(config))
    with pytest.raises(FaseInputError, match="no feature has division = 'north'"):
        build_dataset(load_config(config_path=city.config))


def test_a_feature_without_data_and_a_group_without_areas_are_reported(city: City) -> None:
    config = yaml.safe_load(city.config.read_text())
    del config["dataset"]["demographics"]["poverty_share"]  # no poverty column
    config["data"] = {"minority_threshold": 0.95}  # no area is 95 % Black
    city.config.write_text(yaml.safe_dump(config))
    result = build_dataset(load_config(config_path=city.config))
    poverty = result.tensors.meta["feature_names"].index("poverty_rate")
    assert (result.tensors.x[:, :, poverty] == 0).all()  # poverty_rate: a constant 0 …
    table = dict(result.table)
    assert table["Demographic feature without data: poverty_rate"] == (
        "no column configured (demographics.poverty_share)"
    )  # … and said so
    assert table["Areas / incidents: minority"] == "0 / 0"
    assert table["Areas / incidents: majority"] == "8 / 2"
    assert any("poverty_rate has no data" in w for w in result.warnings)
    assert any(w.startswith("no minority area") for w in result.warnings)
    assert json.dumps(result.demographics.report["features_without_data"])
