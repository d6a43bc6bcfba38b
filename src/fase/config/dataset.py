"""Dataset definitions: where a city's data live and what their columns mean.

A dataset is independent of the method: the same dataset runs under the
``paper`` or ``default`` preset. Paths are resolved relative to the YAML file
that declares them; ``embedded:`` expands to the data shipped inside the package and
``{data_root}`` to the folder of fetched datasets (``FASE_DATA_ROOT``, else the user
cache that ``fase datasets fetch`` fills). A dataset lists the files it fetches, each
with its public upstream source and checksum (:class:`DataFile`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import PurePosixPath
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

IncidentFormat = Literal[
    "baltimore_legacy",  # Open Baltimore Part-1: CrimeDateTime (US AM/PM or ISO UTC), Latitude, …
    "fase_processed",  # the FASE authors' processed file: CrimeDateTime as YYYY-MM-DD HH:MM:SS
    "chicago_portal",  # City of Chicago "Crimes - 2001 to Present" (with or without its header row)
    "nypd",  # NYPD (7 major) felony incidents
    "baltimore_geocoded",  # our block-geocoded BPD Part-1 records: date only
    "lapd",  # LAPD "Crime Data from 2020 to Present": DATE OCC + TIME OCC (HHMM)
    "mapped",  # any CSV, through an explicit column mapping
    "auto",  # recognised by the file's header (one of the formats above but mapped)
]


class Strict(BaseModel):
    """Base: unknown keys are an error (a typo in a YAML file must not pass silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnMap(Strict):
    """Which source column holds each canonical field.

    Either ``datetime`` (date and time in one column) or ``date`` (+ optional
    ``time``, e.g. LAPD's HHMM ``TIME OCC``) must be given.
    """

    datetime: str | None = None
    date: str | None = None
    time: str | None = None
    lat: str = "Latitude"
    lon: str = "Longitude"
    crime_type: str | None = None
    incident_id: str | None = None
    extra: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _has_time(self) -> ColumnMap:
        if self.datetime is None and self.date is None:
            raise ValueError("a column map needs 'datetime' or 'date'")
        return self


class IncidentSource(Strict):
    """An incident file (or Parquet dataset) and how to read it.

    ``path`` is a local CSV file, a Parquet file, a directory of (hive-)partitioned
    Parquet files, or an fsspec URL of Parquet data (``s3://bucket/prefix/``);
    ``storage`` says which (``auto``: Parquet for a directory, a URL's directory, a
    ``.parquet``/``.parq``/``.pq`` name or a file with the Parquet magic bytes, else CSV).
    ``format`` and ``columns`` apply to both; the CSV-only fields (``header``, ``names``,
    ``delimiter``) are ignored for Parquet. ``storage_options`` go to the fsspec
    filesystem of a URL (keep credentials in the environment, not here: the resolved
    config is saved with every run). See ``docs/scale.md``.
    """

    path: str
    storage: Literal["auto", "csv", "parquet"] = "auto"
    storage_options: dict[str, Any] = Field(default_factory=dict)  # e.g. {anon: true}
    batch_rows: int | None = Field(None, ge=1)  # rows per batch (memory bound); None: 1,000,000
    format: IncidentFormat = "mapped"
    columns: ColumnMap | None = None
    header: bool | None = None  # None: the format's default
    names: tuple[str, ...] | None = None  # column names for a header-less file
    delimiter: str = ","
    datetime_formats: tuple[str, ...] | None = None  # strptime formats tried in order
    input_utc: bool = False  # timestamps are UTC (converted to the dataset's zone)
    keep_if: dict[str, tuple[str, ...]] = Field(default_factory=dict)  # column -> accepted values
    time_precision: Literal["hour", "day"] = "hour"  # "day": the source has dates only


class BBox(Strict):
    """Inclusive WGS84 bounding box (degrees)."""

    lat_min: float
    lat_max: float
    lon_min: float
    lon_max: float

    @model_validator(mode="after")
    def _ordered(self) -> BBox:
        if not (-90 <= self.lat_min < self.lat_max <= 90):
            raise ValueError("need -90 <= lat_min < lat_max <= 90")
        if not (-180 <= self.lon_min < self.lon_max <= 180):
            raise ValueError("need -180 <= lon_min < lon_max <= 180")
        return self


class Calendar(Strict):
    """Study period in local time: ``start`` inclusive, ``end`` exclusive (dates)."""

    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> Calendar:
        if self.end <= self.start:
            raise ValueError("calendar end must be after start")
        return self


class Territory(Strict):
    """A jurisdiction's polygon: the features of ``path`` whose ``column`` equals ``value``
    (e.g. one LAPD division of a file of divisions)."""

    path: str
    column: str
    value: str


class AreaSource(Strict):
    """Areal units (polygons) and their id column.

    ``selection``: every polygon (``all``), those whose internal point lies in the bbox or
    in the ``territory`` (``internal_point_in_bbox``, ``internal_point_in_territory``), or
    those that intersect the bbox (``intersects_bbox``).
    """

    path: str
    id_column: str
    layer: str | None = None
    name_column: str | None = None
    selection: Literal[
        "all", "internal_point_in_bbox", "intersects_bbox", "internal_point_in_territory"
    ] = "all"
    territory: Territory | None = None
    nearest_max_m: float = 0.0  # nearest-polygon fallback radius (metres), 0 = off
    projected_crs: str | None = None  # metric CRS; None: the UTM zone estimated from the data
    fuzzy_tolerance_m: float = (
        0.0  # coarse polygons: neighbours within this gap (used by contiguity "auto")
    )


class DemographicsSource(Strict):
    """An ACS-style table keyed by area id.

    Shares may be fractions (``share_scale: 1``) or percentages (``share_scale: 100``).
    Where shares are absent, counts with a denominator are used.
    """

    path: str | None = None  # None: the attributes of the area file
    id_column: str
    black_share: str | None = None
    white_share: str | None = None  # used by minority_definition 'one_minus_white'
    black_count: str | None = None
    white_count: str | None = None
    population: str | None = None
    income: str | None = None
    income_divisor: str | None = None  # e.g. a tract count, where ``income`` is a sum over tracts
    poverty_share: str | None = None
    poverty_count: str | None = None
    poverty_denominator: str | None = None
    share_scale: float = 1.0
    suppressed_values: tuple[float, ...] = (-666666666.0, -999999999.0, -888888888.0)
    vintage: str = ""


class DataFile(Strict):
    """A file a dataset fetches from its public upstream source (``fase datasets fetch``).

    Attributes:
        path: where it is kept, relative to the data root (and to a mirror).
        sha256: SHA-256 of its content: of the decompressed bytes for a ``.gz`` file, of
            the file itself otherwise (so a re-compressed copy verifies as well).
        bytes: its size as kept.
        url: the upstream source (a pinned commit of a public repository).
        member: the member of the upstream zip archive to keep (None: the only one, for a
            ``.zip`` URL); a ``.gz`` path whose upstream is not gzipped is compressed.
        source: the upstream repository and commit, for people.
    """

    path: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(gt=0)
    url: str
    member: str | None = None
    source: str = ""

    @field_validator("path")
    @classmethod
    def _inside_the_data_root(cls, value: str) -> str:
        parts = PurePosixPath(value.replace("\\", "/")).parts
        if not parts or value.startswith(("/", "\\", "~")) or ":" in value or ".." in parts:
            raise ValueError(
                f"{value!r} must be a relative path inside the data folder (no '..', no "
                "absolute path)"
            )
        return value


class DatasetConfig(Strict):
    """One city: incidents, areas, demographics, time zone, study period.

    ``calendar`` None: the local days from the first to the last incident of the file
    (read once to find them). ``files``: what ``fase datasets fetch`` downloads; data
    shipped inside the package (``embedded:``) is not listed.
    """

    name: str
    city: str = ""
    description: str = ""
    timezone: str
    calendar: Calendar | None = None
    bbox: BBox | None = None
    incidents: IncidentSource
    areas: AreaSource
    demographics: DemographicsSource
    provenance: tuple[str, ...] = ()  # PROVENANCE files shipped or referenced
    licence: str = ""
    files: tuple[DataFile, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as 'America/Chicago')"
            ) from exc
        return value


class BenchmarkConfig(Strict):
    """A published benchmark (``kind: benchmark`` in ``fase/datasets/NAME.yaml``): tensors
    fetched exactly as their authors published them and read by
    :mod:`fase.data.benchmarks` (``fase compare --benchmark NAME``), not by the incident
    pipeline, so it has no incidents, areas, demographics or time zone.

    ``period``: the span, in words, for ``fase datasets list``; ``files``: what
    ``fase datasets fetch NAME`` downloads (:class:`DataFile`).
    """

    kind: Literal["benchmark"]
    name: str
    city: str = ""
    description: str = ""
    period: str = ""
    provenance: tuple[str, ...] = ()
    licence: str = ""
    files: tuple[DataFile, ...] = ()
