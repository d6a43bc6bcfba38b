"""Small synthetic cities written to disk, with known answers.

``write_city`` writes a 3×3 grid of lon/lat cells of 1/64° (about 1.3 km × 1.7 km
near Chicago) whose corners are exact binary fractions, so that a point written to
CSV lies *exactly* on a shared edge or corner. Nodes ``"1"``..``"9"`` row by row
from the south-west:

    7 8 9
    4 5 6
    1 2 3

Queen degrees are 3 at corners, 5 on edges and 8 at the centre.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import yaml
from shapely.geometry import box

ORIGIN = (-87.75, 41.75)  # lon, lat of the south-west corner (degrees)
SIDE = 1 / 64  # degrees
METRE_LAT = 1 / 111_195  # degrees of latitude per metre


@dataclass
class City:
    root: Path
    polygons: Path
    incidents: Path
    demographics: Path
    config: Path


def cell_center(node: int) -> tuple[float, float]:
    """(lon, lat) of the centre of node 1..9."""
    row, col = divmod(node - 1, 3)
    return ORIGIN[0] + (col + 0.5) * SIDE, ORIGIN[1] + (row + 0.5) * SIDE


def grid_polygons() -> gpd.GeoDataFrame:
    cells = []
    for node in range(1, 10):
        row, col = divmod(node - 1, 3)
        x0, y0 = ORIGIN[0] + col * SIDE, ORIGIN[1] + row * SIDE
        cells.append(
            {"area": node, "label": f"cell {node}", "geometry": box(x0, y0, x0 + SIDE, y0 + SIDE)}
        )
    return gpd.GeoDataFrame(cells, crs="EPSG:4326")


def demographics_table() -> pd.DataFrame:
    """Black share (%) ≥ 50 in nodes 1, 2, 4 and 5; node 9 has no row (missing)."""
    return pd.DataFrame(
        {
            "area": [1, 2, 3, 4, 5, 6, 7, 8],
            "black_pct": [80.0, 60.0, 10.0, 50.0, 55.0, 20.0, 30.0, 5.0],
            "white_pct": [10.0, 30.0, 80.0, 40.0, 35.0, 70.0, 60.0, 90.0],
            "income": [20_000, 30_000, 90_000, 25_000, 28_000, 70_000, 50_000, 110_000],
            "poverty_pct": [35.0, 25.0, 5.0, 30.0, 28.0, 8.0, 12.0, 3.0],
        }
    )


def write_city(
    root: Path,
    incidents: pd.DataFrame,
    start: str,
    end: str,
    tz: str = "America/Chicago",
    extra_dataset: dict | None = None,
) -> City:
    """Write polygons, an incident CSV (FASE processed format), demographics and a config YAML.

    ``incidents`` needs columns ``time`` (local wall-clock strings ``YYYY-MM-DD HH:MM:SS``),
    ``node`` (1..9, placed at the cell centre unless ``lon``/``lat`` columns are given).
    """
    root.mkdir(parents=True, exist_ok=True)
    polygons = root / "areas.geojson"
    grid_polygons().to_file(polygons, driver="GeoJSON")
    if "lon" in incidents:
        lon, lat = incidents["lon"].to_numpy(float), incidents["lat"].to_numpy(float)
    else:
        centres = np.array([cell_center(int(n)) for n in incidents["node"]])
        lon, lat = centres[:, 0], centres[:, 1]
    csv = root / "incidents.csv"
    pd.DataFrame(
        {
            "CrimeDateTime": incidents["time"],
            "Latitude": lat,
            "Longitude": lon,
            "Description": incidents.get("type", pd.Series(["THEFT"] * len(incidents))),
        }
    ).to_csv(csv, index=False, float_format="%.17g")
    demo = root / "demographics.csv"
    demographics_table().to_csv(demo, index=False)
    dataset = {
        "name": "grid",
        "timezone": tz,
        "calendar": {"start": start, "end": end},
        "incidents": {"path": str(csv), "format": "fase_processed"},
        "areas": {
            "path": str(polygons),
            "id_column": "area",
            "name_column": "label",
            "nearest_max_m": 200,
        },
        "demographics": {
            "path": str(demo),
            "id_column": "area",
            "black_share": "black_pct",
            "white_share": "white_pct",
            "share_scale": 100,
            "income": "income",
            "poverty_share": "poverty_pct",
        },
        **(extra_dataset or {}),
    }
    config = root / "config.yaml"
    config.write_text(yaml.safe_dump({"dataset": dataset}), encoding="utf-8")
    return City(root, polygons, csv, demo, config)


# Config overrides for a FASE model that trains on a tiny city in about a second.
TINY_TRAINING = {
    "model": {
        "channels": 8,
        "embedding_dim": 4,
        "head_hidden": 4,
        "blocks": 2,
        "dilations": [1, 2],
    },
    "training": {"window": 16, "stride": 16, "batch_size": 4, "epochs": 2, "threads": 1},
}
