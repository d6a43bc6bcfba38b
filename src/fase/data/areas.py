"""Areal units (the graph's nodes) and the point-in-polygon join of incidents.

:func:`load_areas` reads a polygon file (GeoJSON, shapefile, zipped shapefile,
gzipped GeoJSON), checks it, repairs invalid geometries, selects the study areas
and fixes the node order. :func:`assign_points` maps incident coordinates to
node indices.

Node order: ids sorted naturally, i.e. numerically when every id is an integer
literal (``"9" < "10"``), else lexicographically. Ids are kept as strings exactly as
in the file (no zero-padding); integer-valued floats (``1.0``) become ``"1"``.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from fase.config.dataset import AreaSource, BBox, Territory
from fase.data.ids import id_string, natural_key
from fase.errors import FaseInputError

WGS84 = "EPSG:4326"
VECTOR_SUFFIXES = (".shp", ".geojson", ".json", ".gpkg")
JOIN_CHUNK = 1_000_000  # points per spatial-index query (bounds memory at ~0.2 GB)


@dataclass(frozen=True)
class Areas:
    """The study's areal units in node order.

    Attributes:
        frame: one row per node, index 0..N-1, columns ``area_id`` (str), ``name``
            (str or None) and ``geometry`` (Polygon/MultiPolygon, EPSG:4326).
        projected_crs: metric CRS used for centroids, distances and contiguity.
        source: the polygon file.
        repaired: selected areas whose invalid geometry was repaired with ``make_valid``.
        excluded_by_selection: polygons in the file that the selection dropped.
    """

    frame: gpd.GeoDataFrame
    projected_crs: CRS
    source: Path
    repaired: int = 0
    excluded_by_selection: int = 0

    @property
    def ids(self) -> list[str]:
        """Node ids in node order."""
        return [str(v) for v in self.frame["area_id"]]

    @property
    def n(self) -> int:
        """Number of nodes N."""
        return len(self.frame)


@dataclass(frozen=True, eq=False)
class JoinResult:
    """Node of each point and how it was found.

    ``node`` is (P,) int64 with -1 for unassigned points. ``inside`` counts points
    matched by the predicate, of which ``on_boundary_or_overlap`` were matched by more
    than one polygon; ``nearest`` were placed by the nearest-polygon fallback.
    ``inside + nearest + unassigned`` equals P. With ``overlaps="every"`` the further
    polygons of a multi-matched point are ``extra_point`` (its index) and
    ``extra_node`` (the polygon), one pair per further match (empty otherwise).
    """

    node: np.ndarray
    inside: int
    on_boundary_or_overlap: int
    nearest: int
    unassigned: int
    extra_point: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    extra_node: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


def load_areas(source: AreaSource, bbox: BBox | None) -> Areas:
    """Read, check, repair and select the polygons of ``source``; see the module notes.

    Selection (``source.selection``): ``all``; ``internal_point_in_bbox`` keeps a
    polygon iff its internal point (``INTPTLAT*``/``INTPTLON*`` columns when present,
    else the centroid computed in the projected CRS) lies in the inclusive ``bbox``
    (the paper); ``intersects_bbox`` keeps polygons that touch the bbox;
    ``internal_point_in_territory`` keeps a polygon iff its internal point lies in the
    ``territory`` (a jurisdiction's polygon, e.g. one police division), so that no area
    lies outside the territory the incidents cover.

    Raises:
        FaseInputError: the file is missing, unreadable or empty; the id (or name)
            column is absent; ids are null or duplicated; a geometry is not a polygon;
            the CRS is unknown and the coordinates are not lon/lat; nothing is selected.
    """
    path = Path(source.path)
    raw = _read_polygons(path, source.layer)
    ids = _area_ids(raw, source.id_column, path)
    names = _area_names(raw, source.name_column, path)
    raw = _to_wgs84(raw, path)
    geometry, repaired = _polygonal(raw.geometry, ids, path)
    frame = gpd.GeoDataFrame(
        {"area_id": ids, "name": pd.Series(names, dtype=object)},
        geometry=geometry.to_numpy(),
        crs=WGS84,
    )
    projected = _projected_crs(source.projected_crs, frame)
    keep = _selection_mask(raw, frame, source, bbox, projected, path)
    if not keep.any():
        raise FaseInputError(
            path,
            f"no polygon passes the selection {source.selection!r}",
            "check the dataset bbox and areas.selection",
        )
    selected = frame.loc[keep]
    order = sorted(range(len(selected)), key=lambda i: natural_key(selected["area_id"].iat[i]))
    selected = selected.iloc[order].reset_index(drop=True)
    if source.projected_crs is None:
        projected = selected.estimate_utm_crs()
    return Areas(
        frame=selected,
        projected_crs=projected,
        source=path,
        repaired=int(repaired[keep].sum()),
        excluded_by_selection=int((~keep).sum()),
    )


def assign_points(
    lon: np.ndarray,
    lat: np.ndarray,
    areas: Areas,
    predicate: Literal["covered_by", "within"] = "covered_by",
    nearest_max_m: float = 0.0,
    chunk_size: int = JOIN_CHUNK,
    overlaps: Literal["lowest", "every"] = "lowest",
) -> JoinResult:
    """Assign WGS84 points (P,) to nodes with the spatial index.

    ``within`` needs the point strictly inside a polygon (boundary points stay
    unassigned, as in the paper); ``covered_by`` also accepts boundary points. A point
    matched by several polygons (a shared edge or corner, overlapping simplified
    polygons) goes to the lowest node index. Unmatched points within
    ``nearest_max_m`` metres of a polygon (distance in ``areas.projected_crs``) go
    to the nearest one, ties to the lowest node index. Non-finite coordinates stay
    unassigned. Points are processed ``chunk_size`` at a time. ``overlaps="every"`` also
    lists every further polygon of a multi-matched point (the reference's spatial join,
    which counts such a point in each polygon).
    """
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    if lon.shape != lat.shape or lon.ndim != 1:
        raise ValueError(f"lon and lat must be 1-D of equal length, got {lon.shape}, {lat.shape}")
    node = np.full(lon.size, -1, dtype=np.int64)
    tree = shapely.STRtree(areas.frame.geometry.to_numpy())
    multiple = 0
    extra_point: list[np.ndarray] = []
    extra_node: list[np.ndarray] = []
    for start in range(0, lon.size, chunk_size):
        stop = min(start + chunk_size, lon.size)
        chunk_node, chunk_multiple, pairs = _match(
            lon[start:stop], lat[start:stop], tree, predicate
        )
        node[start:stop] = chunk_node
        multiple += chunk_multiple
        if overlaps == "every":
            further = pairs[1] != chunk_node[pairs[0]]
            extra_point.append(pairs[0][further] + start)
            extra_node.append(pairs[1][further])
    inside = int((node >= 0).sum())
    nearest = 0
    if nearest_max_m > 0:
        nearest = _nearest_fallback(lon, lat, node, areas, nearest_max_m, chunk_size)
    empty = np.zeros(0, np.int64)
    return JoinResult(
        node=node,
        inside=inside,
        on_boundary_or_overlap=multiple,
        nearest=nearest,
        unassigned=int((node < 0).sum()),
        extra_point=np.concatenate(extra_point) if extra_point else empty,
        extra_node=np.concatenate(extra_node) if extra_node else empty,
    )


def _match(
    lon: np.ndarray, lat: np.ndarray, tree: shapely.STRtree, predicate: str
) -> tuple[np.ndarray, int, tuple[np.ndarray, np.ndarray]]:
    """Lowest matching node per point (-1 if none), the number of multi-matched points,
    and every (point, polygon) match (point indices into ``lon``)."""
    finite = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
    points = shapely.points(lon[finite], lat[finite])
    point_idx, poly_idx = tree.query(points, predicate=predicate)
    node = np.full(lon.size, -1, dtype=np.int64)
    node[finite] = _lowest_match(point_idx, poly_idx, finite.size)
    multiple = int((np.bincount(point_idx, minlength=finite.size) > 1).sum())
    return node, multiple, (finite[point_idx].astype(np.int64), poly_idx.astype(np.int64))


def _nearest_fallback(
    lon: np.ndarray,
    lat: np.ndarray,
    node: np.ndarray,
    areas: Areas,
    max_m: float,
    chunk_size: int,
) -> int:
    """Fill ``node`` in place for unassigned finite points within ``max_m`` metres."""
    todo = np.flatnonzero((node < 0) & np.isfinite(lon) & np.isfinite(lat))
    if todo.size == 0:
        return 0
    tree = shapely.STRtree(areas.frame.to_crs(areas.projected_crs).geometry.to_numpy())
    to_metric = Transformer.from_crs(WGS84, areas.projected_crs, always_xy=True)
    placed = 0
    for start in range(0, todo.size, chunk_size):
        rows = todo[start : start + chunk_size]
        x, y = to_metric.transform(lon[rows], lat[rows])
        pairs = tree.query_nearest(shapely.points(x, y), max_distance=max_m, all_matches=True)
        lowest = _lowest_match(pairs[0], pairs[1], rows.size)
        node[rows] = lowest
        placed += int((lowest >= 0).sum())
    return placed


def _lowest_match(query_idx: np.ndarray, tree_idx: np.ndarray, size: int) -> np.ndarray:
    """(size,) lowest polygon index matched by each query (-1 where none)."""
    none = np.iinfo(np.int64).max
    lowest = np.full(size, none, dtype=np.int64)
    np.minimum.at(lowest, query_idx, tree_idx.astype(np.int64))
    lowest[lowest == none] = -1
    return lowest


def _read_polygons(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    """Read any GDAL vector file; ``.gz`` through ``/vsigzip/``, ``.zip`` through ``/vsizip/``."""
    if not path.is_file():
        raise FaseInputError(path, "polygon file not found", "check areas.path")
    if path.stat().st_size == 0:
        raise FaseInputError(path, "polygon file is empty (0 bytes)")
    gdal_path = str(path)
    if path.suffix.lower() == ".gz":
        gdal_path = f"/vsigzip/{path}"
    elif path.suffix.lower() == ".zip":
        gdal_path = f"/vsizip/{path}/{_zip_member(path, layer)}"
        layer = None
    kwargs: dict[str, Any] = {"layer": layer} if layer else {}
    try:
        frame = pyogrio.read_dataframe(gdal_path, **kwargs)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
        raise FaseInputError(
            path,
            f"cannot read the polygons: {exc}",
            "use GeoJSON, a shapefile, a zipped shapefile or a .geojson.gz",
        ) from exc
    if not isinstance(frame, gpd.GeoDataFrame):
        raise FaseInputError(path, "the file has no geometries", "give a polygon file")
    if len(frame) == 0:
        raise FaseInputError(path, "the polygon layer has no features")
    return frame


def _zip_member(path: Path, layer: str | None) -> str:
    """The vector file inside a zip archive (the one named ``layer`` if there are several)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.lower().endswith(VECTOR_SUFFIXES)]
    except zipfile.BadZipFile as exc:
        raise FaseInputError(path, "not a valid zip archive") from exc
    if layer is not None:
        names = [n for n in names if Path(n).stem == layer] or names
    if len(names) != 1:
        raise FaseInputError(
            path,
            f"expected one polygon file in the archive, found {names or 'none'}",
            "name the one to use with areas.layer (file name without extension)",
        )
    return names[0]


def _area_ids(frame: pd.DataFrame, column: str, path: Path) -> list[str]:
    """The id column as strings; error on a missing column, null or duplicate ids."""
    if column not in frame.columns:
        available = ", ".join(str(c) for c in frame.columns if c != "geometry")
        raise FaseInputError(
            path,
            f"id column {column!r} not found; available columns: {available}",
            "set areas.id_column",
        )
    values = frame[column]
    if values.isna().any():
        raise FaseInputError(path, f"{int(values.isna().sum())} rows have no {column!r} id")
    ids = [id_string(v) for v in values]
    counts = pd.Series(ids).value_counts()
    duplicated = counts[counts > 1]
    if len(duplicated):
        raise FaseInputError(
            path, f"duplicate ids in {column!r}: {', '.join(duplicated.index[:10])}"
        )
    return ids


def _area_names(frame: pd.DataFrame, column: str | None, path: Path) -> list[str | None]:
    if column is None:
        return [None] * len(frame)
    if column not in frame.columns:
        available = ", ".join(str(c) for c in frame.columns if c != "geometry")
        raise FaseInputError(
            path, f"name column {column!r} not found; available columns: {available}"
        )
    return [None if pd.isna(v) else str(v) for v in frame[column]]


def _to_wgs84(frame: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    """Reproject to EPSG:4326; a file without CRS is assumed lon/lat if its bounds allow it."""
    if frame.crs is not None:
        return frame.to_crs(WGS84)
    lon_min, lat_min, lon_max, lat_max = frame.total_bounds
    if lon_min >= -180 and lon_max <= 180 and lat_min >= -90 and lat_max <= 90:
        return frame.set_crs(WGS84)
    raise FaseInputError(
        path,
        "the file has no coordinate reference system and its coordinates are not lon/lat",
        "add a .prj file or convert the polygons to EPSG:4326",
    )


def _polygonal(
    geometry: gpd.GeoSeries, ids: list[str], path: Path
) -> tuple[gpd.GeoSeries, np.ndarray]:
    """Check every geometry is a polygon; repair invalid ones keeping their polygonal parts.

    Returns the repaired geometries and the (rows,) mask of those that were invalid.
    """
    values = geometry.to_numpy()
    kind = shapely.get_type_id(values)
    bad = ~np.isin(kind, (3, 6)) | shapely.is_empty(values)  # 3 Polygon, 6 MultiPolygon
    if bad.any():
        examples = ", ".join(ids[i] for i in np.flatnonzero(bad)[:10])
        raise FaseInputError(
            path,
            f"{int(bad.sum())} geometries are not (non-empty) polygons, e.g. ids {examples}",
            "areal units must be Polygon or MultiPolygon features",
        )
    invalid_mask = ~shapely.is_valid(values)
    invalid = np.flatnonzero(invalid_mask)
    repaired = values.copy()
    for i in invalid:
        pieces = shapely.get_parts(shapely.get_parts(shapely.make_valid(values[i])))
        polygons = [p for p in pieces if p.geom_type == "Polygon"]
        if not polygons:
            raise FaseInputError(path, f"geometry of id {ids[i]} is invalid and has no area")
        repaired[i] = polygons[0] if len(polygons) == 1 else shapely.multipolygons(polygons)
    return gpd.GeoSeries(repaired, crs=geometry.crs), invalid_mask


def _projected_crs(configured: str | None, frame: gpd.GeoDataFrame) -> CRS:
    """The configured metric CRS, else the UTM zone of the polygons."""
    if configured is None:
        return frame.estimate_utm_crs()
    try:
        crs = CRS.from_user_input(configured)
    except CRSError as exc:
        raise FaseInputError("areas.projected_crs", f"unknown CRS {configured!r}") from exc
    if not crs.is_projected:
        raise FaseInputError(
            "areas.projected_crs", f"{configured!r} is not a projected (metric) CRS"
        )
    return crs


def _selection_mask(
    raw: pd.DataFrame,
    frame: gpd.GeoDataFrame,
    source: AreaSource,
    bbox: BBox | None,
    projected: CRS,
    path: Path,
) -> np.ndarray:
    """Boolean (rows,) mask of the polygons kept by ``source.selection``."""
    selection = source.selection
    if selection == "all":
        return np.ones(len(frame), dtype=bool)
    if selection == "internal_point_in_territory":
        if source.territory is None:
            raise FaseInputError(
                "areas.selection",
                "internal_point_in_territory needs areas.territory",
                "set areas.territory: {path: …, column: …, value: …}",
            )
        lon, lat = _internal_points(raw, frame, projected)
        points = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=WGS84)
        return np.asarray(points.within(territory_shape(source.territory)), dtype=bool)
    if bbox is None:
        raise FaseInputError(
            "areas.selection", f"selection {selection!r} needs the dataset's bbox", "set bbox"
        )
    if selection == "intersects_bbox":
        box = shapely.box(bbox.lon_min, bbox.lat_min, bbox.lon_max, bbox.lat_max)
        return np.asarray(frame.geometry.intersects(box), dtype=bool)
    lon, lat = _internal_points(raw, frame, projected)
    return (
        (lat >= bbox.lat_min)
        & (lat <= bbox.lat_max)
        & (lon >= bbox.lon_min)
        & (lon <= bbox.lon_max)
    )


def territory_shape(territory: Territory) -> shapely.Geometry:
    """The union (EPSG:4326) of the features of ``territory.path`` whose ``column`` equals
    ``value``."""
    path = Path(territory.path)
    frame = _to_wgs84(_read_polygons(path, None), path)
    if territory.column not in frame.columns:
        raise FaseInputError(
            path,
            f"column {territory.column!r} (areas.territory.column) not found",
            f"columns present: {', '.join(map(str, frame.columns[:30]))}",
        )
    chosen = frame[frame[territory.column].astype(str) == territory.value]
    if chosen.empty:
        values = sorted(frame[territory.column].astype(str).unique())[:30]
        raise FaseInputError(
            path,
            f"no feature has {territory.column} = {territory.value!r} (areas.territory.value)",
            f"values present: {', '.join(values)}",
        )
    return shapely.union_all(shapely.make_valid(chosen.geometry.to_numpy()))


def _internal_points(
    raw: pd.DataFrame, frame: gpd.GeoDataFrame, projected: CRS
) -> tuple[np.ndarray, np.ndarray]:
    """(lon, lat) of each polygon's internal point: INTPTLON*/INTPTLAT* where given, else
    the centroid computed in the projected CRS and converted back to EPSG:4326."""
    centroids = frame.geometry.to_crs(projected).centroid.to_crs(WGS84)
    lon, lat = centroids.x.to_numpy(), centroids.y.to_numpy()
    upper = {str(c).upper(): c for c in raw.columns}
    lat_col = next((upper[c] for c in upper if c.startswith("INTPTLAT")), None)
    lon_col = next((upper[c] for c in upper if c.startswith("INTPTLON")), None)
    if lat_col is not None and lon_col is not None:
        given_lat = pd.to_numeric(raw[lat_col], errors="coerce").to_numpy(dtype=np.float64)
        given_lon = pd.to_numeric(raw[lon_col], errors="coerce").to_numpy(dtype=np.float64)
        known = np.isfinite(given_lat) & np.isfinite(given_lon)
        lat = np.where(known, given_lat, lat)
        lon = np.where(known, given_lon, lon)
    return lon, lat


def land_area_km2(areas_path: Path, projected_crs: str | None) -> np.ndarray:
    """(N,) polygon areas in km², in node order, measured in ``projected_crs`` (else the
    estimated UTM zone) from a run's ``data/areas.geojson``."""
    if not areas_path.is_file():
        raise FaseInputError(areas_path, "not found", "rebuild the run's data with `fase data`")
    frame = gpd.read_file(areas_path)
    crs = projected_crs or frame.estimate_utm_crs()
    return frame.to_crs(crs).geometry.area.to_numpy(dtype=float) / 1e6
