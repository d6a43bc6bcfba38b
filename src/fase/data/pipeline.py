"""Phase 1 orchestration: incidents → areas → demographics → tensors, and the
dataset table (the paper's Table 1 plus every row dropped, by reason).

Incidents are streamed: each cleaned batch is assigned to areas and binned, and its
counts are added to the (N, T[, C]) count tensors; no step holds all incidents, so
memory is bounded by the batch size and the tensors, plus the 16 bytes per distinct
incident of duplicate detection (``docs/scale.md``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from fase.config import RunConfig, bins_per, parse_duration
from fase.data.areas import Areas, JoinResult, assign_points, load_areas
from fase.data.bins import DAY, BinGrid, make_grid
from fase.data.crime_types import CATEGORIES, categorise
from fase.data.demographics import GROUP_UNKNOWN, GROUPS, Demographics, load_demographics
from fase.data.features import FeatureSpec, build_features
from fase.data.incidents import IncidentStream, IncidentSummary
from fase.data.resolve import resolve_dataset
from fase.data.tensors import SPLITS, Tensors, fit_scaler, split_bounds
from fase.errors import FaseInputError
from fase.io import atomic_path
from fase.progress import Say
from fase.rundir import RunDir
from fase.tables import save_table


@dataclass
class JoinCounts:
    """How the loaded incidents were assigned to areas: the totals of the per-batch
    :class:`~fase.data.areas.JoinResult` counts (``inside + nearest + unassigned`` = loaded)."""

    inside: int = 0
    on_boundary_or_overlap: int = 0
    nearest: int = 0
    unassigned: int = 0
    extra_counts: int = 0  # further counts of incidents in overlapping areas (overlaps: every)

    def add(self, join: JoinResult) -> None:
        self.inside += join.inside
        self.on_boundary_or_overlap += join.on_boundary_or_overlap
        self.nearest += join.nearest
        self.unassigned += join.unassigned
        self.extra_counts += int(join.extra_point.size)


@dataclass
class IncidentCounts:
    """Incidents per (node, bin) ``y`` (N, T) int32, per (node, bin, crime category)
    ``y_types`` (N, T, C) int32 or None, the C category names, and the join totals."""

    y: np.ndarray
    y_types: np.ndarray | None
    type_names: list[str]
    join: JoinCounts


@dataclass
class Phase1Result:
    """Outputs of Phase 1 (in memory); :func:`write_phase1` saves them."""

    tensors: Tensors
    areas: Areas
    demographics: Demographics
    incidents: IncidentSummary
    join: JoinCounts
    table: list[tuple[str, Any]]
    warnings: list[str] = field(default_factory=list)


def effective_bin(cfg: RunConfig, precision: str) -> tuple[pd.Timedelta, str | None]:
    """The method's bin width, coarsened to whole days when the data have dates only."""
    width = parse_duration(cfg.data.bin, "data.bin")
    if precision == "day" and width < DAY:
        note = f"{cfg.dataset.name} has dates only: bins coarsened from {cfg.data.bin} to 1D"
        return DAY, note
    return width, None


def bin_label(width: pd.Timedelta) -> str:
    """``1h``, ``8h`` or ``1D``."""
    return "1D" if width == DAY else f"{int(width / pd.Timedelta('1h'))}h"


def feature_spec(cfg: RunConfig, width: pd.Timedelta) -> FeatureSpec:
    windows = cfg.data.rolling_windows
    return FeatureSpec(
        lags=cfg.data.lags,
        window_bins=tuple(bins_per(w, width, "data.rolling_windows") for w in windows),  # type: ignore[arg-type]
        window_names=windows,
        rolling_head=cfg.data.rolling_head,
    )


def count_matrix(
    node: np.ndarray,
    bins: np.ndarray,
    n_nodes: int,
    n_bins: int,
    codes: np.ndarray | None = None,
    n_codes: int = 1,
) -> np.ndarray:
    """Incidents per (node, bin[, code]) as int32; rows with node or bin −1 are ignored."""
    keep = (node >= 0) & (bins >= 0)
    flat = node[keep] * n_bins + bins[keep]
    if codes is None:
        return (
            np.bincount(flat, minlength=n_nodes * n_bins).reshape(n_nodes, n_bins).astype(np.int32)
        )
    flat = flat * n_codes + codes[keep]
    return (
        np.bincount(flat, minlength=n_nodes * n_bins * n_codes)
        .reshape(n_nodes, n_bins, n_codes)
        .astype(np.int32)
    )


def assigned_batches(
    stream: IncidentStream,
    areas: Areas,
    grid: BinGrid,
    predicate: str,
    nearest_max_m: float,
    overlaps: str = "lowest",
) -> Iterator[tuple[pd.DataFrame, JoinResult, np.ndarray]]:
    """Each cleaned batch of ``stream`` with its area join (``found.node``: node per
    incident, −1 unassigned; ``found.extra_*``: further areas with ``overlaps="every"``)
    and its bin per incident (−1 outside ``grid``)."""
    for batch in stream:
        lon, lat = batch["lon"].to_numpy(), batch["lat"].to_numpy()
        found = assign_points(
            lon,
            lat,
            areas,
            predicate,
            nearest_max_m,
            overlaps=overlaps,  # type: ignore[arg-type]
        )
        yield batch, found, grid.assign(batch["time"])


def join_radius(cfg: RunConfig) -> float:
    """The nearest-area fallback's radius in metres (0: no fallback)."""
    return cfg.dataset.areas.nearest_max_m if cfg.data.nearest_fallback else 0.0


def count_incidents(
    stream: IncidentStream,
    areas: Areas,
    grid: BinGrid,
    predicate: str,
    nearest_max_m: float,
    by_type: bool,
    overlaps: str = "lowest",
) -> IncidentCounts:
    """Assign and bin ``stream``'s incidents batch by batch, adding up their counts.

    ``overlaps="every"`` counts an incident in every area that contains it (the
    reference); ``"lowest"`` in one. With ``by_type``, incidents are also counted per crime category
    (:func:`fase.data.crime_types.categorise`); only the categories that occur among
    the loaded incidents are kept, in :data:`~fase.data.crime_types.CATEGORIES` order.
    """
    n, t = areas.n, grid.n_bins
    y = np.zeros((n, t), dtype=np.int32)
    y_types = np.zeros((n, t, len(CATEGORIES)), dtype=np.int32) if by_type else None
    present = np.zeros(len(CATEGORIES), dtype=bool)
    join = JoinCounts()
    batches = assigned_batches(stream, areas, grid, predicate, nearest_max_m, overlaps)
    for batch, found, bins in batches:
        join.add(found)
        extra = found.extra_point
        y += count_matrix(found.node, bins, n, t)
        y += count_matrix(found.extra_node, bins[extra], n, t)
        if y_types is not None:
            codes, names = categorise(batch["crime_type"])
            category = np.array([CATEGORIES.index(name) for name in names], dtype=np.int64)
            present[category] = True
            per_incident = category[codes]
            y_types += count_matrix(found.node, bins, n, t, per_incident, len(CATEGORIES))
            y_types += count_matrix(
                found.extra_node, bins[extra], n, t, per_incident[extra], len(CATEGORIES)
            )
    if y_types is not None:
        y_types = np.ascontiguousarray(y_types[:, :, present])
    names = [name for name, kept in zip(CATEGORIES, present, strict=True) if kept]
    return IncidentCounts(y, y_types, names, join)


def build_dataset(cfg: RunConfig, progress: Say | None = None) -> Phase1Result:
    """Run Phase 1 for ``cfg`` and return tensors, areas, demographics and the report
    (the dataset is resolved first: :func:`fase.data.resolve.resolve_dataset`)."""
    say = progress or (lambda _msg: None)
    cfg = resolve_dataset(cfg, say)
    ds, method = cfg.dataset, cfg.data
    assert ds.calendar is not None  # resolved

    say("opening incidents")
    stream = IncidentStream(ds.incidents, ds.timezone, ds.calendar, ds.bbox, method.duplicates)
    width, coarsened = effective_bin(cfg, stream.time_precision)

    say("loading areas")
    areas = load_areas(ds.areas, ds.bbox)
    say("reading, assigning and binning incidents")
    grid = make_grid(ds.calendar.start, ds.calendar.end, width, ds.timezone)
    radius = join_radius(cfg)
    counts = count_incidents(
        stream, areas, grid, method.join_predicate, radius, method.crime_type_channels,
        method.overlaps,
    )  # fmt: skip
    incidents, join = stream.summary(), counts.join
    y, y_types, type_names = counts.y, counts.y_types, counts.type_names
    if incidents.loaded and join.unassigned == incidents.loaded:
        raise FaseInputError(
            ds.areas.path,
            f"none of the {incidents.loaded:,} incidents falls inside an area (or within "
            f"{radius:g} m of one)",
            "the polygons do not cover the incidents: give your city's areas (--polygons) "
            "and check that both are in longitude/latitude",
        )

    if method.calendar == "observed":
        active = np.flatnonzero(y.sum(axis=0))
        if active.size == 0:
            raise FaseInputError(
                ds.incidents.path, "no incident falls in any area inside the study period"
            )
        first, last = int(active[0]), int(active[-1])
        grid = grid.slice(first, last)
        y = y[:, first : last + 1]
        y_types = None if y_types is None else y_types[:, first : last + 1]

    node_ids = areas.ids
    keep_nodes = np.arange(areas.n)
    if method.nodes == "incident_bearing":
        keep_nodes = np.flatnonzero(y.sum(axis=1) > 0)
        node_ids = [node_ids[i] for i in keep_nodes]
        areas = replace(areas, frame=areas.frame.iloc[keep_nodes].reset_index(drop=True))
        y = y[keep_nodes]
        y_types = None if y_types is None else y_types[keep_nodes]
    if len(node_ids) == 0:
        raise FaseInputError(ds.areas.path, "no area received an incident")

    say("demographics")
    demographics = load_demographics(ds.demographics, node_ids, method, ds.areas.path)

    say("features")
    spec = feature_spec(cfg, width)
    starts = grid.starts
    x = build_features(y, starts, demographics.static, spec)
    bounds = split_bounds(grid.n_bins, method.split)
    scaled = np.zeros(len(spec.names), dtype=bool)
    if method.scaling == "standard":
        scaled[: spec.n_count_features] = True
        scaled[spec.n_count_features + 4 : spec.exposure_index] = True
    scaler = fit_scaler(x[:, : bounds["train"][1]], scaled)

    sparsity = float((y == 0).mean())
    meta = {
        "dataset": ds.name,
        "preset": cfg.preset,
        "node_ids": node_ids,
        "node_names": _names(areas),
        "feature_names": list(spec.names),
        "bin": bin_label(width),
        "bin_bins_per_day": int(DAY / width),
        "timezone": ds.timezone,
        "split": {k: list(v) for k, v in bounds.items()},
        "scaler": scaler,
        "groups": demographics.groups.tolist(),
        "static": demographics.static.tolist(),
        "static_raw": np.where(np.isnan(demographics.raw), None, demographics.raw).tolist(),
        "crime_types": type_names,
        "sparsity": sparsity,
        "window_bins": list(spec.window_bins),
        "hawkes_bins_7d": bins_per("7d", width),
    }
    tensors = Tensors(x=x, y=y, bin_start=grid.edges[:-1].copy(), meta=meta, y_types=y_types)
    table = _dataset_table(cfg, incidents, join, grid, tensors, demographics, coarsened, areas)
    meta["table"] = {label: value for label, value in table}
    warnings = data_warnings(demographics, y)
    return Phase1Result(tensors, areas, demographics, incidents, join, table, warnings)


def group_incidents(demographics: Demographics, y: np.ndarray) -> dict[str, tuple[int, int]]:
    """Areas and incidents of each group: name → (areas, incidents)."""
    per_area = y.sum(axis=1)
    masks = {group: demographics.groups == group for group in GROUPS}
    return {group: (int(m.sum()), int(per_area[m].sum())) for group, m in masks.items()}


def data_warnings(demographics: Demographics, y: np.ndarray) -> list[str]:
    """What makes the data unfit for part of the audit, in plain words: a demographic
    feature without data, a fairness group without areas or without incidents."""
    warnings = [
        f"demographic feature {feature} has no data ({why}): it is a constant 0 in the features"
        for feature, why in demographics.report["features_without_data"].items()
    ]
    method = demographics.report
    for group, (areas, incidents) in group_incidents(demographics, y).items():
        if group == GROUP_UNKNOWN:
            continue
        if areas == 0:
            warnings.append(
                f"no {group} area ({method['minority_definition']} ≥ "
                f"{method['minority_threshold']}): the fairness metrics between groups are "
                "undefined; see data.minority_definition and data.minority_threshold"
            )
        elif incidents == 0:
            warnings.append(f"the {areas} {group} area(s) have no incident in the study period")
    return warnings


def _names(areas: Areas) -> list[str | None]:
    if "name" not in areas.frame:
        return [None] * areas.n
    return [None if pd.isna(name) else str(name) for name in areas.frame["name"]]


def _dataset_table(
    cfg,
    incidents: IncidentSummary,
    join: JoinCounts,
    grid: BinGrid,
    tensors: Tensors,
    demographics: Demographics,
    coarsened: str | None,
    areas: Areas,
) -> list[tuple[str, Any]]:
    loaded = incidents.loaded
    assigned = loaded - join.unassigned
    n, t = tensors.y.shape
    start, end = grid.starts[0], grid.starts[-1]
    rows: list[tuple[str, Any]] = [
        ("Dataset", cfg.dataset.name),
        ("Method preset", cfg.preset),
        ("Rows read", incidents.rows_read),
    ]
    rows += [
        (f"Rows dropped: {reason}", count) for reason, count in sorted(incidents.dropped.items())
    ]
    rows += [
        (f"Times adjusted: {reason}", count) for reason, count in sorted(incidents.adjusted.items())
    ]
    rows += [
        ("Exact duplicate rows (policy: " + cfg.data.duplicates + ")", incidents.duplicates),
        ("Incidents loaded", loaded),
        ("Assigned by point in polygon", join.inside),
        ("  of which matched by several areas (lowest node index)", join.on_boundary_or_overlap),
    ]
    if cfg.data.overlaps == "every":
        rows += [
            ("  further counts in every other matching area (overlaps: every)", join.extra_counts)
        ]
    rows += [
        ("Assigned by nearest-area fallback", join.nearest),
        (f"Dropped (outside all areas) ({join.unassigned / max(loaded, 1):.1%})", join.unassigned),
        ("Incidents assigned to areas", assigned),
        ("Spatial nodes", n),
        ("Invalid geometries repaired", areas.repaired),
        (f"Temporal bins ({tensors.meta['bin']})", t),
        ("Period (local)", f"{start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} ({grid.timezone})"),
        ("Tensor sparsity (zero cells)", f"{tensors.meta['sparsity']:.2%}"),
        ("Feature dimension F", len(tensors.meta["feature_names"])),
        (
            "Train / Val / Test bins",
            " / ".join(f"{e - s:,}" for s, e in (tensors.split[k] for k in SPLITS)),
        ),
        (
            f"Minority nodes ({cfg.data.minority_definition} ≥ {cfg.data.minority_threshold})",
            f"{int(demographics.minority.sum())} / {n}",
        ),
        (
            "Nodes without demographics (" + cfg.data.missing_demographics + ")",
            len(demographics.report["nodes_without_demographics"]),
        ),
    ]
    rows += [
        (f"Areas / incidents: {group}", f"{areas:,} / {incidents:,}")
        for group, (areas, incidents) in group_incidents(demographics, tensors.y).items()
    ]
    rows += [
        (f"Demographic feature without data: {feature}", why)
        for feature, why in demographics.report["features_without_data"].items()
    ]
    if coarsened:
        rows.append(("Note", coarsened))
    return rows


def write_phase1(result: Phase1Result, run: RunDir) -> str:
    """Save tensors, areas and the dataset table into ``run``; return the table's Markdown."""
    result.tensors.save(run)
    with atomic_path(run.areas, suffix=".geojson") as tmp:
        result.areas.frame.to_file(tmp, driver="GeoJSON")
    payload = {
        "table": {label: value for label, value in result.table},
        "dropped": result.incidents.dropped,
        "adjusted": result.incidents.adjusted,
        "demographics": result.demographics.report,
    }
    return save_table(
        run.dataset_table_md, run.dataset_table_json, "Dataset statistics", result.table, payload
    )
