"""Phase 1 orchestration: incidents → areas → demographics → tensors, and the
dataset table (the paper's Table 1 plus every row dropped, by reason)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fase.config import RunConfig, bins_per, parse_duration
from fase.data.areas import Areas, JoinResult, assign_points, load_areas
from fase.data.bins import DAY, BinGrid, make_grid
from fase.data.crime_types import categorise
from fase.data.demographics import Demographics, load_demographics
from fase.data.features import FeatureSpec, build_features
from fase.data.incidents import IncidentTable, read_incidents
from fase.data.tensors import SPLITS, Tensors, fit_scaler, split_bounds
from fase.errors import FaseInputError
from fase.io import atomic_path
from fase.report.tables import save_table

Progress = Callable[[str], None]


@dataclass
class Phase1Result:
    """Outputs of Phase 1 (in memory); :func:`write_phase1` saves them."""

    tensors: Tensors
    areas: Areas
    demographics: Demographics
    incidents: IncidentTable
    join: JoinResult
    table: list[tuple[str, Any]]


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


def _crime_type_codes(types: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Category codes of each incident's crime type and the categories that occur
    (:func:`fase.data.crime_types.categorise`)."""
    return categorise(types)


def build_dataset(cfg: RunConfig, progress: Progress | None = None) -> Phase1Result:
    """Run Phase 1 for ``cfg`` and return tensors, areas, demographics and the report."""
    say = progress or (lambda _msg: None)
    ds, method = cfg.dataset, cfg.data

    say("reading incidents")
    incidents = read_incidents(ds.incidents, ds.timezone, ds.calendar, ds.bbox, method.duplicates)
    width, coarsened = effective_bin(cfg, incidents.time_precision)

    say("loading areas")
    areas = load_areas(ds.areas, ds.bbox)
    say("assigning incidents to areas")
    frame = incidents.frame
    radius = ds.areas.nearest_max_m if method.nearest_fallback else 0.0
    join = assign_points(
        frame["lon"].to_numpy(), frame["lat"].to_numpy(), areas, method.join_predicate, radius
    )

    say("binning")
    grid = make_grid(ds.calendar.start, ds.calendar.end, width, ds.timezone)
    bins = grid.assign(frame["time"])
    y = count_matrix(join.node, bins, areas.n, grid.n_bins)
    y_types, type_names = None, []
    if method.crime_type_channels:
        codes, type_names = _crime_type_codes(frame["crime_type"])
        y_types = count_matrix(join.node, bins, areas.n, grid.n_bins, codes, len(type_names))

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
    return Phase1Result(tensors, areas, demographics, incidents, join, table)


def _names(areas: Areas) -> list[str | None]:
    if "name" not in areas.frame:
        return [None] * areas.n
    return [None if pd.isna(name) else str(name) for name in areas.frame["name"]]


def _dataset_table(
    cfg,
    incidents: IncidentTable,
    join: JoinResult,
    grid: BinGrid,
    tensors: Tensors,
    demographics: Demographics,
    coarsened: str | None,
    areas: Areas,
) -> list[tuple[str, Any]]:
    loaded = len(incidents.frame)
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
    if coarsened:
        rows.append(("Note", coarsened))
    return rows


def write_phase1(result: Phase1Result, data_dir: str | Path) -> str:
    """Save tensors, areas and the dataset table into ``data_dir``; return the table's Markdown."""
    data_dir = Path(data_dir)
    result.tensors.save(data_dir)
    with atomic_path(data_dir / "areas.geojson", suffix=".geojson") as tmp:
        result.areas.frame.to_file(tmp, driver="GeoJSON")
    payload = {
        "table": {label: value for label, value in result.table},
        "dropped": result.incidents.dropped,
        "adjusted": result.incidents.adjusted,
        "demographics": result.demographics.report,
    }
    return save_table(data_dir, "table1", "Dataset statistics", result.table, payload)
