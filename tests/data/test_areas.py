"""Loading areal units (formats, checks, repair, selection, order) and the point join."""

from __future__ import annotations

import gzip
import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import CRS, Transformer

from fase.config.dataset import AreaSource, BBox
from fase.data.areas import Areas, assign_points, load_areas
from fase.errors import FaseInputError

# Dyadic lon/lat grid: every vertex and edge midpoint below is exact in binary.
CELL = 1 / 64
X0, Y0 = -87.75, 41.75


def lonlat_grid(nx: int = 3, ny: int = 3) -> list[shapely.Polygon]:
    """nx × ny squares of CELL degrees, row-major from the south-west (node = row·nx + col)."""
    return [
        shapely.box(X0 + i * CELL, Y0 + j * CELL, X0 + (i + 1) * CELL, Y0 + (j + 1) * CELL)
        for j in range(ny)
        for i in range(nx)
    ]


def areas_of(polygons: list[shapely.Polygon]) -> Areas:
    frame = gpd.GeoDataFrame(
        {"area_id": [str(i) for i in range(len(polygons))], "name": [None] * len(polygons)},
        geometry=polygons,
        crs="EPSG:4326",
    )
    return Areas(frame=frame, projected_crs=CRS.from_epsg(32616), source=Path("synthetic"))


def write(path: Path, ids: list, polygons: list, crs: str | None = "EPSG:4326", **cols) -> Path:
    gpd.GeoDataFrame({"zone": ids, **cols}, geometry=polygons, crs=crs).to_file(path)
    return path


def source(path: Path, **kwargs) -> AreaSource:
    return AreaSource(path=str(path), id_column=kwargs.pop("id_column", "zone"), **kwargs)


# --------------------------------------------------------------------------- loading


def test_natural_order_and_string_ids(tmp_path):
    cells = lonlat_grid(3, 1)
    areas = load_areas(source(write(tmp_path / "a.geojson", [10, 9, 100], cells)), None)
    assert areas.ids == ["9", "10", "100"] and areas.n == 3
    assert areas.frame.geometry.iat[0].equals(cells[1])  # polygons follow their ids
    assert list(areas.frame.columns) == ["area_id", "name", "geometry"]
    assert list(areas.frame.index) == [0, 1, 2] and areas.frame.crs.to_epsg() == 4326

    floats = load_areas(source(write(tmp_path / "f.geojson", [2.0, 1.0, 3.5], cells)), None)
    assert floats.ids == ["1", "2", "3.5"]
    padded = load_areas(source(write(tmp_path / "p.geojson", ["010", "9", "011"], cells)), None)
    assert padded.ids == ["9", "010", "011"]  # numeric order, strings kept as given
    text = load_areas(source(write(tmp_path / "t.geojson", ["b", "a10", "a9"], cells)), None)
    assert text.ids == ["a10", "a9", "b"]


def test_name_column_and_projected_crs(tmp_path):
    path = write(tmp_path / "a.geojson", [1, 2], lonlat_grid(2, 1), label=["North", None])
    areas = load_areas(source(path, name_column="label"), None)
    assert list(areas.frame["name"]) == ["North", None]
    assert areas.projected_crs.to_epsg() == 32616  # estimated UTM zone (Chicago)
    fixed = load_areas(source(path, projected_crs="EPSG:3435"), None)
    assert fixed.projected_crs.to_epsg() == 3435
    with pytest.raises(FaseInputError, match="not a projected"):
        load_areas(source(path, projected_crs="EPSG:4326"), None)


def test_gzip_zip_and_shapefile_read_the_same(tmp_path):
    cells = lonlat_grid(2, 2)
    geojson = write(tmp_path / "a.geojson", [4, 3, 2, 1], cells)
    with open(geojson, "rb") as raw, gzip.open(tmp_path / "a.geojson.gz", "wb") as packed:
        shutil.copyfileobj(raw, packed)
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    write(shp_dir / "zones.shp", [4, 3, 2, 1], cells)
    with zipfile.ZipFile(tmp_path / "zones.zip", "w") as archive:
        for part in shp_dir.iterdir():
            archive.write(part, f"inner/{part.name}")
    expected = load_areas(source(geojson), None)
    for path in (tmp_path / "a.geojson.gz", shp_dir / "zones.shp", tmp_path / "zones.zip"):
        areas = load_areas(source(path), None)
        assert areas.ids == ["1", "2", "3", "4"]
        assert all(areas.frame.geometry.geom_equals(expected.frame.geometry))


def test_bow_tie_is_repaired(tmp_path):
    bow_tie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    assert not bow_tie.is_valid
    path = write(tmp_path / "a.geojson", [1, 2], [bow_tie, shapely.box(2, 0, 3, 1)])
    areas = load_areas(source(path), None)
    assert areas.repaired == 1
    fixed = areas.frame.geometry.iat[0]
    assert fixed.is_valid and fixed.geom_type == "MultiPolygon" and fixed.area == 0.5


# The three selection modes: squares west, on and east of the bbox's west edge.
SEL_CELLS = [shapely.box(-0.8, 0, -0.2, 1), shapely.box(-0.4, 0, 0.2, 1), shapely.box(0.2, 0, 1, 1)]
SEL_BBOX = BBox(lat_min=0.0, lat_max=1.0, lon_min=0.0, lon_max=1.0)


@pytest.mark.parametrize(
    ("selection", "kept"),
    [("all", ["1", "2", "3"]), ("internal_point_in_bbox", ["3"]), ("intersects_bbox", ["2", "3"])],
)
def test_selection_modes(tmp_path, selection, kept):
    path = write(tmp_path / "a.geojson", [1, 2, 3], SEL_CELLS)
    areas = load_areas(source(path, selection=selection), SEL_BBOX)
    assert areas.ids == kept
    assert areas.excluded_by_selection == 3 - len(kept)


def test_internal_point_columns_win_over_centroids(tmp_path):
    # Square 2's centroid (-0.1) is outside the bbox but its given internal point is inside;
    # square 3 has no given point (empty strings) and falls back to its centroid.
    path = write(
        tmp_path / "a.geojson",
        [1, 2, 3],
        SEL_CELLS,
        INTPTLAT10=["+00.5", "+00.5", ""],
        INTPTLON10=["-000.5", "+000.1", ""],
    )
    areas = load_areas(source(path, selection="internal_point_in_bbox"), SEL_BBOX)
    assert areas.ids == ["2", "3"]


def test_selection_needs_a_bbox(tmp_path):
    path = write(tmp_path / "a.geojson", [1], SEL_CELLS[:1])
    with pytest.raises(FaseInputError, match="bbox"):
        load_areas(source(path, selection="intersects_bbox"), None)
    with pytest.raises(FaseInputError, match="no polygon passes"):
        load_areas(
            source(path, selection="intersects_bbox"), SEL_BBOX.model_copy(update={"lon_min": 0.5})
        )


def test_missing_id_column_names_file_and_columns(tmp_path):
    path = write(tmp_path / "zones.geojson", [1], SEL_CELLS[:1], GEOID=["x"])
    with pytest.raises(FaseInputError, match="id column 'ZCTA5CE10' not found") as info:
        load_areas(source(path, id_column="ZCTA5CE10"), None)
    assert info.value.source == str(path)
    assert "zone, GEOID" in info.value.problem


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ('{"type": "FeatureCollection", "features": []}', "no features"),
        ("not a polygon file", "cannot read"),
    ],
)
def test_empty_or_unreadable_file(tmp_path, content, message):
    path = tmp_path / "zones.geojson"
    path.write_text(content)
    with pytest.raises(FaseInputError, match=message) as info:
        load_areas(source(path), None)
    assert info.value.source == str(path)


def test_table_without_geometry(tmp_path):
    path = tmp_path / "zones.csv"
    path.write_text("zone,pop\n1,10\n")
    with pytest.raises(FaseInputError, match="no geometries"):
        load_areas(source(path), None)


def test_missing_file(tmp_path):
    with pytest.raises(FaseInputError, match="not found") as info:
        load_areas(source(tmp_path / "nope.geojson"), None)
    assert "nope.geojson" in str(info.value)


@pytest.mark.parametrize(
    ("ids", "geometries", "message"),
    [
        ([1, 1], SEL_CELLS[:2], "duplicate ids in 'zone': 1"),
        ([1.0, None], SEL_CELLS[:2], "1 rows have no 'zone' id"),
        ([1, 2], [SEL_CELLS[0], shapely.Point(0, 0)], "1 geometries are not .* ids 2"),
        ([1, 2], [SEL_CELLS[0], None], "1 geometries are not"),
    ],
)
def test_bad_ids_and_geometries(tmp_path, ids, geometries, message):
    path = write(tmp_path / "zones.geojson", ids, geometries)
    with pytest.raises(FaseInputError, match=message):
        load_areas(source(path), None)


@pytest.mark.filterwarnings("ignore:.crs. was not provided:UserWarning")
def test_shapefile_without_crs(tmp_path):
    lonlat = load_areas(source(write(tmp_path / "a.shp", [1], SEL_CELLS[:1], crs=None)), None)
    assert lonlat.frame.crs.to_epsg() == 4326
    metres = write(
        tmp_path / "b.shp", [1], [shapely.box(440_000, 4_630_000, 441_000, 4_631_000)], None
    )
    with pytest.raises(FaseInputError, match="no coordinate reference system"):
        load_areas(source(metres), None)


def test_projected_file_is_converted_to_wgs84(tmp_path):
    square = shapely.box(440_000, 4_630_000, 441_000, 4_631_000)
    areas = load_areas(source(write(tmp_path / "a.geojson", [1], [square], "EPSG:32616")), None)
    corners = np.array(areas.frame.geometry.iat[0].exterior.coords)
    x, y = np.array(square.exterior.coords).T
    expected = Transformer.from_crs(32616, 4326, always_xy=True).transform(x, y)
    np.testing.assert_allclose(corners, np.column_stack(expected), atol=1e-12)


# --------------------------------------------------------------------------- point join

EDGE_01 = (X0 + CELL, Y0 + CELL / 2)  # shared edge of cells 0 and 1
CORNER_0134 = (X0 + CELL, Y0 + CELL)  # shared corner of cells 0, 1, 3 and 4
CENTRE_4 = (X0 + 1.5 * CELL, Y0 + 1.5 * CELL)


def join(points, areas, **kwargs):
    lon, lat = np.array(points, dtype=np.float64).T
    return assign_points(lon, lat, areas, **kwargs)


def test_covered_by_sends_boundary_points_to_lowest_node():
    result = join([CENTRE_4, EDGE_01, CORNER_0134], areas_of(lonlat_grid()), predicate="covered_by")
    np.testing.assert_array_equal(result.node, [4, 0, 0])
    assert (result.inside, result.on_boundary_or_overlap, result.nearest, result.unassigned) == (
        3,
        2,
        0,
        0,
    )


def test_within_leaves_boundary_points_unassigned():
    result = join([CENTRE_4, EDGE_01, CORNER_0134], areas_of(lonlat_grid()), predicate="within")
    np.testing.assert_array_equal(result.node, [4, -1, -1])
    assert (result.inside, result.on_boundary_or_overlap, result.unassigned) == (1, 0, 2)
    fallback = join(
        [EDGE_01, CORNER_0134], areas_of(lonlat_grid()), predicate="within", nearest_max_m=1.0
    )
    np.testing.assert_array_equal(fallback.node, [0, 0])  # distance 0 to several: lowest index
    assert (fallback.nearest, fallback.unassigned) == (2, 0)


def test_overlap_goes_to_lowest_node_for_both_predicates():
    overlapping = [shapely.box(0, 0, 2, 2), shapely.box(1, 1, 3, 3)]
    for predicate in ("within", "covered_by"):
        result = join([(1.5, 1.5), (2.5, 2.5)], areas_of(overlapping), predicate=predicate)
        np.testing.assert_array_equal(result.node, [0, 1])
        assert result.on_boundary_or_overlap == 1


def test_nearest_fallback_within_and_beyond_radius():
    # Two cells with a gap of CELL/4 (≈ 325 m at 41.75°N); the point is ≈ 81 m from cell 0.
    cells = [lonlat_grid(1, 1)[0], shapely.affinity.translate(lonlat_grid(1, 1)[0], 1.25 * CELL)]
    gap_point = (X0 + CELL + CELL / 16, Y0 + CELL / 2)
    areas = areas_of(cells)
    np.testing.assert_array_equal(join([gap_point], areas, nearest_max_m=150.0).node, [0])
    beyond = join([gap_point], areas, nearest_max_m=50.0)
    np.testing.assert_array_equal(beyond.node, [-1])
    assert (beyond.nearest, beyond.unassigned) == (0, 1)
    assert join([gap_point], areas).unassigned == 1  # fallback off by default


def test_non_finite_points_stay_unassigned():
    result = join(
        [(np.nan, Y0), CENTRE_4, (X0, np.inf)], areas_of(lonlat_grid()), nearest_max_m=1e6
    )
    np.testing.assert_array_equal(result.node, [-1, 4, -1])
    assert result.unassigned == 2


def test_random_points_match_floor_division_and_chunking():
    rng = np.random.default_rng(7)
    lon = rng.uniform(X0 - CELL, X0 + 4 * CELL, 20_000)
    lat = rng.uniform(Y0 - CELL, Y0 + 4 * CELL, 20_000)
    col = np.floor((lon - X0) / CELL).astype(int)
    row = np.floor((lat - Y0) / CELL).astype(int)
    inside = (col >= 0) & (col < 3) & (row >= 0) & (row < 3)
    expected = np.where(inside, row * 3 + col, -1)
    areas = areas_of(lonlat_grid())
    whole = assign_points(lon, lat, areas, "within")
    np.testing.assert_array_equal(whole.node, expected)
    chunked = assign_points(lon, lat, areas, "within", chunk_size=333)
    np.testing.assert_array_equal(chunked.node, whole.node)
    assert whole.inside == inside.sum() and whole.unassigned == (~inside).sum()


def test_every_overlap_lists_each_further_polygon():
    """``overlaps="every"`` (the reference's spatial join): a point inside three
    polygons is at the lowest and counted again in the two others."""
    nested = [shapely.box(0, 0, 2, 2), shapely.box(1, 1, 3, 3), shapely.box(1.2, 1.2, 1.8, 1.8)]
    points = [(1.5, 1.5), (2.5, 2.5), (0.5, 0.5), (1.1, 1.1)]
    result = join(points, areas_of(nested), predicate="within", overlaps="every")
    np.testing.assert_array_equal(result.node, [0, 1, 0, 0])
    pairs = sorted(zip(result.extra_point.tolist(), result.extra_node.tolist(), strict=True))
    assert pairs == [(0, 1), (0, 2), (3, 1)]
    single = join(points, areas_of(nested), predicate="within")
    assert single.extra_point.size == 0 and single.on_boundary_or_overlap == 2
