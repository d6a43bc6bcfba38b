"""The model-zoo study's input representation, made causal, for area × bin forecasting.

The study (Cruz, "Crime Prediction Using Deep Learning Models") feeds its DNN and LSTM
the incident-level fields of the LAPD file: victim age, sex and descent, premise, weapon,
crime type, imputed (median / mode), min–max scaled and one-hot encoded, plus day of
week, hour, day of year, coordinates and crime density per km². FASE forecasts counts
per area and bin, so each (area n, bin t) gets:

* **The previous day's incidents** (``prev_day:<column>``). Every field is preprocessed
  per incident by :class:`~fase.data.tabular.TabularPreprocessor` fitted on the
  *training-period* incidents only (bins ``< train_end``, assigned to an area), then
  averaged over the incidents of area n in the ``bins_per_day`` bins *before* t, i.e.
  ``[t − bins_per_day, t)`` (the previous bin at daily bins; the trailing 24 hours at
  hourly bins, where the previous hour alone is almost always empty). Bin t itself is
  never read: the forecast of t uses what is known when t starts. The window is cut at
  bin 0. A numeric field's column is the mean scaled value; a categorical field's
  one-hot columns are the shares of each category.
* **No incident in the window** (``prev_day:empty`` = 1): the columns take the mean of
  the training incidents' preprocessed values (the "typical incident"), so an empty
  window is neutral and the indicator tells it apart.
* **Calendar of bin t** (local time of its start): ``day_of_week`` (Monday 0 … Sunday 6)
  / 6, ``hour`` (0 … 23) / 23, ``day_of_year`` (day 1 … 366 → (day − 1) / 365); fixed
  ranges, so nothing is fitted (``hour`` is 0 at daily bins).
* **The area**: ``centroid_lon`` / ``centroid_lat`` (centroid in the projected CRS, in
  degrees), min–max over the areas; ``crime_density`` = training-period incidents per
  km² of the area, min–max over the areas. Constant over t.

Field preparation (:class:`IncidentField`): a numeric value at or below
``missing_at_or_below`` is missing (LAPD ``Vict Age`` 0 or negative: unknown or not a
person), then median-imputed; an empty categorical value is ``missing_as`` where given
(LAPD ``Weapon Desc`` is empty when no weapon was used, 78 % of West LA's rows: imputing
the mode would call them all "strong-arm"), else mode-imputed as in the study. A field
with more than ``max_categories`` training values keeps its most frequent ones (ties by
name) and lumps the rest, and any value unseen in training, into ``<other>``; with fewer,
an unseen value gives zeros (no column is ever added for a value unseen in training).
``Status`` is not used: it is the case's outcome, recorded after the fact, and not among
the study's inputs.

:func:`study_features` builds the representation from incidents already assigned to
areas and bins; :func:`study_features_for_run` re-reads a run's incident file and
assigns it exactly as Phase 1 did (:func:`fase.data.pipeline.assigned_batches`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from fase.config import RunConfig
from fase.data.areas import WGS84, load_areas
from fase.data.bins import DAY, make_grid
from fase.data.incident_formats import Layout
from fase.data.incidents import IncidentStream
from fase.data.pipeline import assigned_batches, join_radius
from fase.data.resolve import resolve_dataset
from fase.data.tabular import TabularPreprocessor
from fase.data.tensors import Tensors
from fase.errors import FaseInputError
from fase.progress import Say, silent

PREFIX = "prev_day:"
EMPTY = PREFIX + "empty"
OTHER = "<other>"
CALENDAR = ("day_of_week", "hour", "day_of_year")
AREA = ("centroid_lon", "centroid_lat", "crime_density")
MAX_CATEGORIES = 15


@dataclass(frozen=True)
class IncidentField:
    """One incident-level column of the canonical incident frame and how it is prepared.

    Attributes:
        column: the column (an ``extra`` column's source name, or ``crime_type``).
        kind: ``numeric`` (median-imputed, min–max) or ``categorical`` (one-hot).
        missing_at_or_below: numeric only: values ≤ this count as missing.
        missing_as: categorical only: the value an empty cell stands for (else the mode).
    """

    column: str
    kind: Literal["numeric", "categorical"]
    missing_at_or_below: float | None = None
    missing_as: str | None = None


LAPD_FIELDS: tuple[IncidentField, ...] = (
    IncidentField("Vict Age", "numeric", missing_at_or_below=0.0),
    IncidentField("Vict Sex", "categorical"),
    IncidentField("Vict Descent", "categorical"),
    IncidentField("Premis Desc", "categorical"),
    IncidentField("Weapon Desc", "categorical", missing_as="NONE"),
    IncidentField("crime_type", "categorical"),
)
# Present in every canonical frame (``UNKNOWN`` where the file has none): not evidence
# that a file carries incident-level fields.
ALWAYS_PRESENT = ("crime_type",)


@dataclass(frozen=True)
class StudyFeatures:
    """The study's representation for one run.

    Attributes:
        x: (N, T, F') float32, aligned with the run's areas and bins (module docstring).
        names: the F' column names.
        preprocessor: the per-incident preprocessing fitted on the training incidents.
        skipped: field → why it is not in ``x`` (absent from the file, no training value).
    """

    x: np.ndarray
    names: list[str]
    preprocessor: TabularPreprocessor
    skipped: dict[str, str] = field(default_factory=dict)


def study_features(
    incidents: pd.DataFrame,
    node_index: np.ndarray,
    bin_index: np.ndarray,
    *,
    num_nodes: int,
    num_steps: int,
    train_end: int,
    bins_per_day: int,
    bin_start: np.ndarray,
    timezone: str,
    centroids: np.ndarray,
    area_km2: np.ndarray,
    fields: Sequence[IncidentField] = LAPD_FIELDS,
    max_categories: int | None = MAX_CATEGORIES,
) -> StudyFeatures:
    """The study's representation (module docstring) of incidents assigned to areas and bins.

    Args:
        incidents: one row per incident, with (some of) the ``fields``' columns.
        node_index: (R,) area of each incident, −1 where unassigned (ignored).
        bin_index: (R,) bin of each incident, −1 outside the run's bins (ignored).
        num_nodes, num_steps: N and T.
        train_end: the first bin after the training split; fitting reads bins < train_end.
        bins_per_day: the window length in bins (24 hourly, 1 daily).
        bin_start: (T,) bin starts, ns since the Unix epoch (UTC).
        timezone: the zone of the local calendar.
        centroids: (N, 2) lon, lat of each area.
        area_km2: (N,) land area of each area (km², > 0).
        fields: the incident-level fields to use; those absent from ``incidents`` are
            skipped (see :attr:`StudyFeatures.skipped`).
        max_categories: most categories kept per field (the rest: ``<other>``); None: all.

    Raises:
        FaseInputError: no field is usable, or no incident falls in the training bins.
    """
    node_index = np.asarray(node_index, dtype=np.int64)
    bin_index = np.asarray(bin_index, dtype=np.int64)
    n, t = int(num_nodes), int(num_steps)
    _check_shapes(incidents, node_index, bin_index, n, t, bin_start, centroids, area_km2)
    if not 0 < train_end <= t:
        raise ValueError(f"train_end must be in 1..{t}, got {train_end}")
    if bins_per_day < 1:
        raise ValueError(f"bins_per_day must be ≥ 1, got {bins_per_day}")

    used = (node_index >= 0) & (node_index < n) & (bin_index >= 0) & (bin_index < t)
    frame = incidents.loc[used].reset_index(drop=True)
    node, bins = node_index[used], bin_index[used]
    train = bins < train_end
    if not train.any():
        raise FaseInputError(
            "incidents",
            f"no incident assigned to an area falls in the training bins (< {train_end})",
        )

    prepared, skipped = _prepare(frame, train, fields, max_categories)
    numeric = [f.column for f in fields if f.kind == "numeric" and f.column in prepared]
    categorical = [f.column for f in fields if f.kind == "categorical" and f.column in prepared]
    if not numeric and not categorical:
        raise FaseInputError(
            "incidents",
            "none of the study's incident-level fields is usable: "
            + "; ".join(f"{name}: {why}" for name, why in skipped.items()),
        )
    preprocessor = TabularPreprocessor.fit(prepared.loc[train], numeric, categorical)
    values = preprocessor.transform(prepared).to_numpy(dtype=np.float64)  # (R, K)
    typical = values[train].mean(axis=0)

    columns = preprocessor.feature_names
    names = [PREFIX + c for c in columns] + [EMPTY, *CALENDAR, *AREA]
    x = np.empty((n, t, len(names)), dtype=np.float32)
    flat = node * t + bins
    counts = _window_sums(np.bincount(flat, minlength=n * t).reshape(n, t), bins_per_day)
    empty = counts == 0
    for j in range(len(columns)):
        sums = np.bincount(flat, weights=values[:, j], minlength=n * t).reshape(n, t)
        window = _window_sums(sums, bins_per_day)
        x[:, :, j] = np.where(empty, typical[j], window / np.maximum(counts, 1))
    k = len(columns)
    x[:, :, k] = empty
    x[:, :, k + 1 : k + 4] = calendar_columns(bin_start, timezone)[None]
    density = np.bincount(node[train], minlength=n) / np.asarray(area_km2, dtype=np.float64)
    statics = np.column_stack([_min_max(centroids[:, 0]), _min_max(centroids[:, 1])])
    x[:, :, k + 4 : k + 6] = statics[:, None, :]
    x[:, :, k + 6] = _min_max(density)[:, None]
    return StudyFeatures(x, names, preprocessor, skipped)


def calendar_columns(bin_start: np.ndarray, timezone: str) -> np.ndarray:
    """(T, 3) day of week / 6, hour / 23, (day of year − 1) / 365 of each local bin start."""
    local = (
        pd.DatetimeIndex(np.asarray(bin_start, dtype=np.int64).astype("datetime64[ns]"))
        .tz_localize("UTC")
        .tz_convert(timezone)
    )
    return np.column_stack(
        [local.day_of_week / 6.0, local.hour / 23.0, (local.day_of_year - 1) / 365.0]
    ).astype(np.float64)


def available_fields(layout: Layout, fields: Sequence[IncidentField] = LAPD_FIELDS) -> list[str]:
    """The ``fields`` an incident file carries, from its column layout (no row is read)."""
    keys = set(layout.labels)
    return [
        f.column
        for f in fields
        if f.column in ALWAYS_PRESENT or f"extra:{f.column}" in keys or f.column in keys
    ]


def study_features_for_run(
    cfg: RunConfig,
    tensors: Tensors,
    area_km2: np.ndarray | None = None,
    fields: Sequence[IncidentField] = LAPD_FIELDS,
    max_categories: int | None = MAX_CATEGORIES,
    progress: Say = silent,
) -> StudyFeatures:
    """The study's representation for a run built from ``cfg`` (its resolved config).

    Re-reads the dataset's incident file with the fields' columns, assigns each incident
    to an area and a bin as Phase 1 does (same cleaning, duplicates policy, join predicate,
    nearest-area radius and bin grid), then keeps the run's areas (``node_ids``) and bins
    (``bin_start``), so that a trimmed calendar or incident-bearing areas line up.
    ``area_km2``: (N,) land areas in the run's node order (e.g.
    :attr:`fase.forecasters.data.ForecastData.area_km2`); None: measured here in the
    areas' projected CRS.

    Raises:
        FaseInputError: the incident file has no incident-level field (e.g. the Chicago
            portal extract), or the run's areas or bins are not those of ``cfg``.
    """
    cfg = resolve_dataset(cfg, progress)
    ds, method = cfg.dataset, cfg.data
    assert ds.calendar is not None  # resolved
    stream = IncidentStream(ds.incidents, ds.timezone, ds.calendar, ds.bbox, method.duplicates)
    present = available_fields(stream.layout, fields)
    if not [c for c in present if c not in ALWAYS_PRESENT]:
        wanted = [f.column for f in fields if f.column not in ALWAYS_PRESENT]
        raise FaseInputError(
            ds.incidents.path,
            f"dataset {ds.name!r}: the incident file has no incident-level fields "
            f"(none of {wanted}), which the model-zoo study's representation needs",
            "use a dataset in the LAPD format (e.g. la-westla), or the standard features",
        )
    progress("study features: reading, assigning and binning incidents")
    areas = load_areas(ds.areas, ds.bbox)
    bins_per_day = int(tensors.meta["bin_bins_per_day"])
    grid = make_grid(ds.calendar.start, ds.calendar.end, DAY / bins_per_day, ds.timezone)
    parts, nodes, bins = [], [], []
    batches = assigned_batches(stream, areas, grid, method.join_predicate, join_radius(cfg))
    for batch, found, bin_index in batches:
        parts.append(batch[present])
        nodes.append(found.node)
        bins.append(bin_index)
    stream.summary()  # raises on a file without a usable row
    frame = pd.concat(parts, ignore_index=True)

    node_ids = [str(i) for i in tensors.meta["node_ids"]]
    node_map = _index_map(areas.ids, node_ids, ds.areas.path, "area")
    run_starts = np.asarray(tensors.bin_start, dtype=np.int64)
    bin_map = _index_map(grid.edges[:-1].tolist(), run_starts.tolist(), ds.incidents.path, "bin")
    node = _remap(np.concatenate(nodes), node_map)
    bin_run = _remap(np.concatenate(bins), bin_map)

    kept = [areas.ids.index(i) for i in node_ids]
    projected = areas.frame.iloc[kept].to_crs(areas.projected_crs).geometry
    centre = projected.centroid.to_crs(WGS84)
    centroids = np.column_stack([centre.x.to_numpy(), centre.y.to_numpy()])
    if area_km2 is None:
        area_km2 = projected.area.to_numpy(dtype=np.float64) / 1e6
    progress("study features: preprocessing")
    return study_features(
        frame,
        node,
        bin_run,
        num_nodes=len(node_ids),
        num_steps=len(run_starts),
        train_end=int(tensors.split["train"][1]),
        bins_per_day=bins_per_day,
        bin_start=run_starts,
        timezone=str(tensors.meta["timezone"]),
        centroids=centroids,
        area_km2=np.asarray(area_km2, dtype=np.float64),
        fields=fields,
        max_categories=max_categories,
    )


def _prepare(
    frame: pd.DataFrame,
    train: np.ndarray,
    fields: Sequence[IncidentField],
    max_categories: int | None,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The fields' columns ready for the preprocessor (module docstring), and those skipped."""
    prepared: dict[str, pd.Series] = {}
    skipped: dict[str, str] = {}
    for spec in fields:
        if spec.column not in frame:
            skipped[spec.column] = "not in the incident file"
            continue
        raw = frame[spec.column]
        if spec.kind == "numeric":
            column = pd.to_numeric(raw, errors="coerce").astype("float64")
            if spec.missing_at_or_below is not None:
                column = column.mask(column <= spec.missing_at_or_below)
        else:
            column = _text(raw)
            if spec.missing_as is not None:
                column = column.fillna(spec.missing_as)
            column = _lump(column, train, max_categories)
        if column[train].isna().all():
            skipped[spec.column] = "no value in the training-period incidents"
            continue
        prepared[spec.column] = column
    return pd.DataFrame(prepared, index=frame.index), skipped


def _text(raw: pd.Series) -> pd.Series:
    """Stripped strings, NA where empty."""
    column = raw.astype("string").str.strip()
    return column.mask(column == "")


def _lump(column: pd.Series, train: np.ndarray, max_categories: int | None) -> pd.Series:
    """Keep the ``max_categories`` most frequent training values; others → ``<other>``."""
    counts = column[train].dropna().value_counts()
    if max_categories is None or len(counts) <= max_categories:
        return column
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    keep = {value for value, _ in ranked[:max_categories]}
    return column.where(column.isna() | column.isin(keep), OTHER)


def _window_sums(per_bin: np.ndarray, width: int) -> np.ndarray:
    """(N, T) sums over the ``width`` bins before each bin: ``[t − width, t)``, cut at 0."""
    n, t = per_bin.shape
    cumulative = np.zeros((n, t + 1), dtype=np.float64)
    np.cumsum(per_bin, axis=1, out=cumulative[:, 1:])
    end = np.arange(t)  # cumulative[:, t] = sum of bins < t
    start = np.maximum(end - width, 0)
    return cumulative[:, end] - cumulative[:, start]


def _min_max(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    span = values.max() - values.min()
    return np.zeros_like(values) if span == 0 else (values - values.min()) / span


def _index_map(source: list, target: list, path: object, what: str) -> np.ndarray:
    """(len(source),) position in ``target`` of each ``source`` value, −1 where absent.

    Raises when a ``target`` value is not in ``source`` (the run is not the dataset's)."""
    known = set(source)
    missing = [v for v in target if v not in known]
    if missing:
        raise FaseInputError(
            path,  # type: ignore[arg-type]
            f"the run's {what}s are not those of the dataset ({len(missing)} not found, "
            f"e.g. {missing[0]!r})",
            "rebuild the run's data with `fase data`, or pass the run's own config",
        )
    position = {v: i for i, v in enumerate(target)}
    return np.array([position.get(v, -1) for v in source], dtype=np.int64)


def _remap(index: np.ndarray, mapping: np.ndarray) -> np.ndarray:
    """Per incident, the run's position of its area or bin (−1 where not in the run)."""
    return np.where(index >= 0, mapping[np.maximum(index, 0)], -1)


def _check_shapes(
    incidents: pd.DataFrame,
    node_index: np.ndarray,
    bin_index: np.ndarray,
    n: int,
    t: int,
    bin_start: np.ndarray,
    centroids: np.ndarray,
    area_km2: np.ndarray,
) -> None:
    r = len(incidents)
    if node_index.shape != (r,) or bin_index.shape != (r,):
        raise ValueError(
            f"node_index and bin_index must be ({r},), got {node_index.shape}, {bin_index.shape}"
        )
    if np.shape(bin_start) != (t,):
        raise ValueError(f"bin_start must be ({t},), got {np.shape(bin_start)}")
    if np.shape(centroids) != (n, 2):
        raise ValueError(f"centroids must be ({n}, 2), got {np.shape(centroids)}")
    if np.shape(area_km2) != (n,) or not (np.asarray(area_km2) > 0).all():
        raise ValueError(f"area_km2 must be ({n},) and positive, got {np.shape(area_km2)}")
