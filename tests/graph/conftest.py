"""Synthetic cities for the graph tests: square cells laid out in UTM 16N metres."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from pyproj import CRS

from fase.data.areas import Areas

UTM16 = CRS.from_epsg(32616)
ORIGIN = (440_000.0, 4_630_000.0)  # Chicago, metres


def cells_to_areas(cells: list[shapely.Polygon]) -> Areas:
    """Areas with ids "0".."n-1" from polygons in UTM 16N metres (frame in EPSG:4326)."""
    frame = gpd.GeoDataFrame(
        {"area_id": [str(i) for i in range(len(cells))], "name": [None] * len(cells)},
        geometry=cells,
        crs=UTM16,
    ).to_crs("EPSG:4326")
    return Areas(frame=frame, projected_crs=UTM16, source=Path("synthetic"))


def grid_cells(nx: int, ny: int, size_m: float = 1000.0) -> list[shapely.Polygon]:
    """nx × ny unit squares, row-major from the south-west corner (node k = row·nx + col)."""
    x0, y0 = ORIGIN
    return [
        shapely.box(x0 + i * size_m, y0 + j * size_m, x0 + (i + 1) * size_m, y0 + (j + 1) * size_m)
        for j in range(ny)
        for i in range(nx)
    ]


@pytest.fixture
def make_areas() -> Callable[[list[shapely.Polygon]], Areas]:
    return cells_to_areas


@pytest.fixture
def grid3() -> list[shapely.Polygon]:
    """The 3×3 grid of 1 km squares (nodes 0..8, 4 is the centre)."""
    return grid_cells(3, 3)
