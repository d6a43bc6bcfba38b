"""Choropleths colour each area by its own value."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from fase.errors import FaseInputError
from fase.report.maps import MapPanel, area_maps


@pytest.fixture
def grid() -> gpd.GeoDataFrame:
    cells = [box(i, j, i + 1, j + 1) for j in range(2) for i in range(3)]
    return gpd.GeoDataFrame({"area_id": range(6)}, geometry=cells, crs="EPSG:4326")


def test_each_area_gets_its_value(grid: gpd.GeoDataFrame) -> None:
    risk = np.array([0.5, 1.0, 2.0, 0.1, 0.0, 3.0])
    patrol = np.array([6.0, 0.0, 1.0, 2.0, 3.0, 4.0])
    figure = area_maps(grid, [MapPanel("risk", "r", risk), MapPanel("patrol", "p", patrol)])
    risk_ax, patrol_ax = figure.axes[:2]
    np.testing.assert_allclose(risk_ax.collections[0].get_array(), risk)
    np.testing.assert_allclose(patrol_ax.collections[0].get_array(), patrol)
    norm = risk_ax.collections[0].norm
    assert (norm.vmin, norm.vmax) == (0.0, 3.0)
    assert risk_ax.get_title() == "risk"
    assert [ax.get_ylabel() for ax in figure.axes[2:]] == ["r", "p"]  # the colour bars


def test_missing_values_and_minority_outlines(grid: gpd.GeoDataFrame) -> None:
    rate = np.array([0.3, np.nan, 0.5, 0.9, np.nan, 0.4])
    minority = np.array([True, False, False, True, False, False])
    ax = area_maps(grid, [MapPanel("detection", "rate", rate)], minority).axes[0]
    values, missing, outlines = ax.collections
    np.testing.assert_allclose(values.get_array(), rate[np.isfinite(rate)])
    assert len(missing.get_paths()) == 2
    assert len(outlines.get_paths()) == 2
    labels = [t.get_text() for t in ax.figure.legends[0].get_texts()]
    assert labels == ["minority area", "no value"]


def test_wrong_number_of_values(grid: gpd.GeoDataFrame) -> None:
    with pytest.raises(FaseInputError, match="for 6 areas"):
        area_maps(grid, [MapPanel("risk", "r", np.ones(5))])
    with pytest.raises(FaseInputError, match="no panels"):
        area_maps(grid, [])
