"""Incident file formats as data: per-format defaults that the config's ``incidents`` overrides.

One generic reader (:mod:`fase.data.incidents`) handles every format. A format is only
a set of defaults: which column holds what (:class:`~fase.config.ColumnMap`), whether the
file has a header row (``None``: detect it), the column names of a header-less file,
the strptime formats tried in order, and the time precision. Any field set explicitly
in the config (``columns``, ``header``, ``names``, ``delimiter``, ``datetime_formats``,
``time_precision``) replaces the format's default; ``mapped`` has no defaults at all.

With a format's own column map, a column may also be found under an alias (the
10-character shapefile spellings ``CrimeDateT`` and ``Descriptio``) or, failing that,
by a loose match that ignores case, spaces and underscores (the Chicago portal's API
writes ``primary_type`` for ``Primary Type``), and the fields ``crime_type``,
``incident_id`` and ``extra`` are optional. A column map given in the config is
matched exactly and every column in it is required.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from fase.config.dataset import ColumnMap, IncidentSource
from fase.errors import FaseInputError

Precision = Literal["hour", "day"]

US_12H = "%m/%d/%Y %I:%M:%S %p"  # 01/08/2020 12:00:00 AM (also accepts 1/8/2020 ...)
US_24H = "%m/%d/%Y %H:%M"  # 01/08/2020 00:00, Excel-mangled 1/8/2020 0:00


@dataclass(frozen=True)
class FormatSpec:
    """The defaults of one incident-file format (see the module docstring)."""

    columns: ColumnMap | None
    datetime_formats: tuple[str, ...] = ()
    header: bool | None = True
    names: tuple[str, ...] | None = None
    time_precision: Precision = "hour"
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


FORMATS: dict[str, FormatSpec] = {
    "baltimore_legacy": FormatSpec(  # Latitude / Longitude: the ColumnMap defaults
        ColumnMap(datetime="CrimeDateTime", crime_type="Description", extra=("CrimeCode",)),
        datetime_formats=(US_12H, "%Y/%m/%d %H:%M:%S%z"),  # naive local, or '+00' UTC
        aliases={"CrimeDateTime": ("CrimeDateT",), "Description": ("Descriptio",)},
    ),
    "fase_processed": FormatSpec(
        ColumnMap(datetime="CrimeDateTime", crime_type="Description"),
        datetime_formats=("%Y-%m-%d %H:%M:%S",),
    ),
    "chicago_portal": FormatSpec(
        ColumnMap(datetime="Date", crime_type="Primary Type", incident_id="ID"),
        datetime_formats=(US_12H, US_24H, "%m/%d/%Y %H:%M:%S"),
        header=None,
        names=("Date", "Primary Type", "Latitude", "Longitude"),
    ),
    "nypd": FormatSpec(  # 'Day of Week' is not read: the weekday comes from the date
        ColumnMap(datetime="Occurrence Date", crime_type="Offense", extra=("Precinct", "Sector")),
        datetime_formats=(US_12H,),
    ),
    "baltimore_geocoded": FormatSpec(
        ColumnMap(
            date="date", lat="lat", lon="lon", crime_type="Description", extra=("CrimeCode",)
        ),
        datetime_formats=("%Y-%m-%d",),
        time_precision="day",
        aliases={"Description": ("Descriptio",)},
    ),
    "lapd": FormatSpec(
        ColumnMap(
            date="DATE OCC",
            time="TIME OCC",
            lat="LAT",
            lon="LON",
            crime_type="Crm Cd Desc",
            incident_id="DR_NO",
            extra=(
                "AREA",
                "Rpt Dist No",
                "Vict Age",
                "Vict Sex",
                "Vict Descent",
                "Premis Desc",
                "Weapon Desc",
            ),
        ),
        datetime_formats=(US_12H, US_24H, "%m/%d/%Y"),
    ),
    "mapped": FormatSpec(None),
}

# Tried in this order by ``format: auto``; the first whose columns are all found and whose
# date parses on the first data row wins (Open Baltimore and the FASE authors' file share
# their column names and differ in the date's spelling).
DETECTABLE = (
    "chicago_portal",
    "nypd",
    "lapd",
    "baltimore_geocoded",
    "baltimore_legacy",
    "fase_processed",
)
MAPPED_KEYS = (
    "dataset.incidents.format: mapped",
    "dataset.incidents.columns (datetime, or date and time; lat; lon; crime_type)",
    "dataset.incidents.datetime_formats",
)


def shown_columns(columns: list[str], most: int = 20, width: int = 40) -> str:
    """``columns`` as a list for a message, cut short: at most ``most`` names of at most
    ``width`` characters each (a binary or one-line file must not flood the terminal)."""
    names = [c if len(c) <= width else c[:width] + "…" for c in map(str, columns[:most])]
    more = f" and {len(columns) - most} more" if len(columns) > most else ""
    return f"{names}{more}"


def detect_format(path: Path | str, rows: list[list[str]]) -> str:
    """The known portal format of a file from its first ``rows`` (a header and one data
    row, split into fields): the first of :data:`DETECTABLE` that fits.

    Raises:
        FaseInputError: no known format fits; the message lists the columns found and the
            YAML keys that describe any other file.
    """
    for name in DETECTABLE:
        settings = read_settings(IncidentSource(path=str(path), format=name), path)
        try:
            layout = column_layout(Path(path), settings, rows[0])
        except FaseInputError:
            continue
        data = rows[1] if layout.header else rows[0]
        if len(rows) < 2 and layout.header:
            return name  # a header alone: the columns decide
        time_key = "datetime" if "datetime" in layout.labels else "date"
        value = data[int(layout.labels[time_key][1:])] if len(data) == layout.n_fields else ""
        if any(_parses(value, fmt) for fmt in settings.datetime_formats):
            return name
    raise FaseInputError(
        path,
        f"not a known incident format; columns found: {shown_columns(rows[0])}",
        f"describe the file in a YAML ({'; '.join(MAPPED_KEYS)}), or give one of the "
        f"formats {', '.join(DETECTABLE)} as dataset.incidents.format",
    )


def _parses(value: str, fmt: str) -> bool:
    """Whether ``value`` reads with the strptime format ``fmt`` (loosely: leading zeros
    may be absent, as pandas allows)."""
    try:
        pd.to_datetime(value.strip(), format=fmt)
    except (ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class ReadSettings:
    """How to read one file: the format's defaults with the config's explicit fields on top.

    ``from_format`` is true when ``columns`` are the format's own (aliases and loose
    matching apply, optional fields may be absent).
    """

    columns: ColumnMap
    from_format: bool
    aliases: Mapping[str, tuple[str, ...]]
    header: bool | None
    names: tuple[str, ...] | None
    delimiter: str
    datetime_formats: tuple[str, ...]
    input_utc: bool
    keep_if: Mapping[str, tuple[str, ...]]
    time_precision: Precision


def read_settings(
    source: IncidentSource, path: Path | str, require_formats: bool = True
) -> ReadSettings:
    """Resolve the effective settings for ``source`` (raises on an unusable format or config).

    ``require_formats=False`` (Parquet, whose time column may be typed) leaves the check
    that strptime formats exist to the reader, once it knows the column's type."""
    spec = FORMATS.get(source.format)
    if spec is None:
        raise FaseInputError(
            path,
            f"unknown incident format {source.format!r}",
            f"set incidents.format to one of: {', '.join(FORMATS)}",
        )
    explicit = source.model_fields_set
    columns = source.columns if source.columns is not None else spec.columns
    if columns is None:
        raise FaseInputError(
            path,
            f"format {source.format!r} needs a column map (incidents.columns)",
            "give at least incidents.columns.datetime (or date), lat and lon",
        )
    formats = source.datetime_formats or spec.datetime_formats
    if not formats and require_formats:
        raise FaseInputError(
            path,
            f"format {source.format!r} needs incidents.datetime_formats",
            "list strptime formats tried in order, e.g. ['%Y-%m-%d %H:%M:%S', '%m/%d/%Y %H:%M']",
        )
    precision = source.time_precision if "time_precision" in explicit else spec.time_precision
    if columns.datetime is None and columns.time is None:
        precision = "day"  # a date column alone carries no time of day
    return ReadSettings(
        columns=columns,
        from_format=source.columns is None,
        aliases=spec.aliases if source.columns is None else {},
        header=source.header if source.header is not None else spec.header,
        names=source.names or spec.names,
        delimiter=source.delimiter,
        datetime_formats=tuple(formats),
        input_utc=source.input_utc,
        keep_if=dict(source.keep_if),
        time_precision=precision,
    )


@dataclass(frozen=True)
class Layout:
    """Where the wanted fields are in the file.

    ``labels`` maps a field key (``datetime``/``date``/``time``, ``lat``, ``lon``,
    ``crime_type``, ``incident_id``, ``extra:<name>``, ``keep_if:<name>``) to the internal
    label ``c<position>`` of its column; ``names`` maps it to the source column name.
    """

    header: bool
    n_fields: int
    labels: dict[str, str]
    names: dict[str, str]


def column_layout(path: Path, settings: ReadSettings, first: list[str]) -> Layout:
    """Decide whether ``first`` (the file's first line, split) is a header, and find every
    wanted column. Raises when a required column is missing or ``names`` do not fit."""
    required, optional = _wanted_columns(settings)
    header = settings.header
    if header is None:  # auto-detect: a header row names at least one required column
        header = any(_find(name, first, settings) is not None for name in required.values())
    if header:
        columns = first
    elif settings.names is None:
        raise FaseInputError(
            path,
            "the file has no header row and no column names are configured",
            "set incidents.names (or incidents.header: true if the first line is a header)",
        )
    elif len(settings.names) != len(first):
        raise FaseInputError(
            path,
            f"the first line has {len(first)} field(s) but incidents.names gives "
            f"{len(settings.names)}: {list(settings.names)}",
            _delimiter_hint(first, settings.delimiter) or "set incidents.names to match the file",
        )
    else:
        columns = list(settings.names)
    wanted = required | optional
    positions = {key: _find(name, columns, settings) for key, name in wanted.items()}
    missing = [f"{name!r} ({key})" for key, name in required.items() if positions[key] is None]
    if missing:
        raise FaseInputError(
            path,
            f"required column(s) {', '.join(missing)} not found; columns found: "
            f"{shown_columns(columns)}",
            _delimiter_hint(first, settings.delimiter)
            or "set incidents.columns to the file's column names, or use another incidents.format",
        )
    found = {key: pos for key, pos in positions.items() if pos is not None}
    return Layout(
        header=header,
        n_fields=len(first),
        labels={key: f"c{pos}" for key, pos in found.items()},
        names={key: wanted[key] for key in found},
    )


def _delimiter_hint(first: list[str], delimiter: str) -> str | None:
    """A hint when the first line looks separated by another delimiter than the configured one."""
    text = "".join(first)
    for candidate, shown in ((";", ";"), ("\t", "\\t"), ("|", "|"), (",", ",")):
        if candidate != delimiter and candidate in text:
            return f"the first line looks {shown!r}-separated: set incidents.delimiter: {shown!r}"
    return None


def _wanted_columns(settings: ReadSettings) -> tuple[dict[str, str], dict[str, str]]:
    """Source column names to read, as ``(required, optional)`` maps of field key -> name."""
    cols = settings.columns
    required = {key: getattr(cols, key) for key in ("datetime", "date", "time", "lat", "lon")}
    required = {key: name for key, name in required.items() if name is not None}
    optional = {key: getattr(cols, key) for key in ("crime_type", "incident_id")}
    optional |= {f"extra:{name}": name for name in cols.extra}
    optional = {key: name for key, name in optional.items() if name is not None}
    if not settings.from_format:
        required |= optional
        optional = {}
    required |= {f"keep_if:{name}": name for name in settings.keep_if}
    return required, optional


def _loose(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _find(name: str, columns: list[str], settings: ReadSettings) -> int | None:
    """Position of column ``name`` (the first exact match; then, for a format's own columns,
    an alias, then a unique case/space/underscore-insensitive match)."""
    candidates = (name, *settings.aliases.get(name, ())) if settings.from_format else (name,)
    for candidate in candidates:
        if candidate in columns:
            return columns.index(candidate)
    if settings.from_format:
        loose = {_loose(c) for c in candidates}
        hits = [i for i, column in enumerate(columns) if _loose(column) in loose]
        if len(hits) == 1:
            return hits[0]
    return None
