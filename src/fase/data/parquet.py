"""Parquet incident datasets: one file or a (hive-)partitioned directory, local or remote.

``incidents.path`` may be a local ``.parquet`` file, a local directory of Parquet files
(``year=2016/month=1/part-0.parquet`` hive partitions become columns too), or an fsspec
URL (``s3://bucket/prefix/``, ``gs://…``, ``hdfs://…``, ``memory://…``, ``file://…``).
Remote filesystems are resolved with :func:`fsspec.core.url_to_fs` and handed to
pyarrow through :class:`pyarrow.fs.FSSpecHandler`, so S3, GCS or HDFS work when the
user has installed ``s3fs``, ``gcsfs`` or the HDFS client; ``incidents.storage_options``
is passed to the filesystem (e.g. ``{anon: true}`` or an ``endpoint_url``).

Only the mapped columns are read (column projection). Latitude and longitude keep an
integer, float or text type (text is parsed as in CSV; decimals and other types become
float64); a timestamp or date ``datetime``/``date`` column is read as a timestamp (no
strptime formats needed; naive values are local wall-clock time, zone-aware ones
instants); every other mapped column is cast to text, as the CSV reader reads it.
Batches of at most ``batch_rows`` rows come from :meth:`pyarrow.dataset.Dataset.to_batches`,
and small ones (small files, small row groups) are coalesced up to ``batch_rows``:
memory is bounded by the batch size and the row-group size, never by the number of rows
in the dataset. The scan is single-threaded: with ``use_threads=True`` pyarrow 26 read a
whole 2 M-row dataset ahead of the (slower) cleaning, whatever its read-ahead settings,
and decoding is a small part of ingestion anyway (``docs/scale.md``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
from fsspec.implementations.local import LocalFileSystem

from fase.data.incident_formats import Layout, ReadSettings, column_layout
from fase.errors import FaseInputError

PARQUET_MAGIC = b"PAR1"  # the first (and last) four bytes of every Parquet file
PARQUET_SUFFIXES = (".parquet", ".parq", ".pq")
PROTOCOL_PACKAGES = {  # fsspec protocol -> what to install for it
    "s3": "s3fs",
    "s3a": "s3fs",
    "gs": "gcsfs",
    "gcs": "gcsfs",
    "abfs": "adlfs",
    "az": "adlfs",
    "hdfs": "a Hadoop client (libhdfs) for pyarrow",
}
_TEMPORAL_KEYS = ("datetime", "date")


def is_url(location: str) -> bool:
    """True for an fsspec URL (``protocol://…``), false for a local path."""
    return "://" in location


def resolve_filesystem(
    location: str, storage_options: Mapping[str, Any] | None = None
) -> tuple[pafs.FileSystem, str]:
    """The pyarrow filesystem and the path inside it for a local path or an fsspec URL.

    Raises :class:`FaseInputError` when the URL's protocol is unknown or its fsspec
    implementation is not installed (naming the package to install).
    """
    if not is_url(location):
        return pafs.LocalFileSystem(), str(Path(location).expanduser())
    protocol = location.split("://", 1)[0].lower()
    try:
        filesystem, path = fsspec.core.url_to_fs(location, **dict(storage_options or {}))
    except ImportError as exc:
        package = PROTOCOL_PACKAGES.get(protocol, "the fsspec implementation of this protocol")
        raise FaseInputError(
            location,
            f"reading {protocol}:// URLs needs {package}, which is not installed ({exc})",
            f"install {package} (e.g. pip install {package.split()[0]}) or copy the data locally",
        ) from exc
    except ValueError as exc:
        raise FaseInputError(
            location,
            f"unknown URL protocol {protocol!r} ({exc})",
            "use a local path or an fsspec URL such as s3://bucket/prefix/ or gs://bucket/prefix/",
        ) from exc
    if isinstance(filesystem, LocalFileSystem):
        return pafs.LocalFileSystem(), path
    return pafs.PyFileSystem(pafs.FSSpecHandler(filesystem)), path


def looks_like_parquet(location: str, storage_options: Mapping[str, Any] | None = None) -> bool:
    """``incidents.storage: auto``: a directory, a name ending in ``.parquet``/``.parq``/``.pq``,
    or a file starting with the Parquet magic bytes. A missing local path is not Parquet
    (the CSV reader reports it); a URL is resolved (and must exist)."""
    if location.lower().rstrip("/").endswith(PARQUET_SUFFIXES):
        return True
    if not is_url(location):
        path = Path(location)
        if path.is_dir():
            return True
        if not path.is_file():
            return False
        with open(path, "rb") as handle:
            return handle.read(4) == PARQUET_MAGIC
    filesystem, path = resolve_filesystem(location, storage_options)
    info = _file_info(filesystem, path, location)
    if info.type == pafs.FileType.Directory:
        return True
    with filesystem.open_input_stream(path) as handle:
        return handle.read(4) == PARQUET_MAGIC


def open_parquet(
    location: str,
    settings: ReadSettings,
    batch_rows: int,
    storage_options: Mapping[str, Any] | None = None,
) -> tuple[Layout, Iterator[pd.DataFrame]]:
    """Discover the dataset and check its columns now; return its layout and its batches.

    Each batch holds the wanted columns labelled ``c<position>`` (position in the dataset
    schema, partition columns included). Raises :class:`FaseInputError` on a missing or
    unreadable dataset, a dataset without files, or a missing column (also while iterating).
    """
    dataset = _open_dataset(location, storage_options)
    if not dataset.files:
        raise FaseInputError(
            location,
            "no Parquet files found in the incident dataset",
            "check incidents.path (files starting with '_' or '.' are ignored)",
        )
    layout = column_layout(location, _with_header(settings), list(dataset.schema.names))
    columns = _projection(dataset.schema, layout)
    _check_time_formats(dataset.schema, layout, settings, location)
    return layout, _batches(dataset, columns, batch_rows, location)


def parquet_columns(location: str, storage_options: Mapping[str, Any] | None = None) -> list[str]:
    """The column names of a Parquet file or dataset (partition columns included)."""
    dataset = _open_dataset(location, storage_options)
    return list(dataset.schema.names)


def _open_dataset(location: str, storage_options: Mapping[str, Any] | None) -> ds.Dataset:
    """The Parquet file or hive-partitioned dataset at ``location``, or a clear error."""
    filesystem, path = resolve_filesystem(location, storage_options)
    _file_info(filesystem, path, location)
    try:
        return ds.dataset(path, filesystem=filesystem, format="parquet", partitioning="hive")
    except (pa.ArrowException, OSError) as exc:
        raise FaseInputError(location, f"cannot be read as Parquet: {exc}") from exc


def _file_info(filesystem: pafs.FileSystem, path: str, location: str) -> pafs.FileInfo:
    try:
        info = filesystem.get_file_info(path)
    except (pa.ArrowException, OSError) as exc:
        raise FaseInputError(location, f"cannot be accessed: {exc}") from exc
    if info.type == pafs.FileType.NotFound:
        raise FaseInputError(location, "incident dataset not found", "check dataset.incidents.path")
    return info


def _with_header(settings: ReadSettings) -> ReadSettings:
    """Parquet columns always have names: the header settings of CSV formats do not apply."""
    return replace(settings, header=True)


def _check_time_formats(
    schema: pa.Schema, layout: Layout, settings: ReadSettings, location: str
) -> None:
    """Text times need strptime formats; timestamp and date columns do not."""
    key = "datetime" if "datetime" in layout.labels else "date"
    field = schema.field(int(layout.labels[key][1:]))
    typed = pa.types.is_timestamp(field.type) or pa.types.is_date(field.type)
    if not typed and not settings.datetime_formats:
        raise FaseInputError(
            location,
            f"column {field.name!r} holds {field.type} times and no incidents.datetime_formats "
            "are given to read them",
            "list strptime formats tried in order, e.g. ['%Y-%m-%d %H:%M:%S'], "
            "or store the column as a Parquet timestamp",
        )


def _projection(schema: pa.Schema, layout: Layout) -> dict[str, pc.Expression]:
    """``c<position>`` -> the column, cast as the module docstring says."""
    columns: dict[str, pc.Expression] = {}
    for key, label in layout.labels.items():
        field = schema.field(int(label[1:]))
        target = _read_type(key, field.type)
        expression = pc.field(field.name)
        columns[label] = expression if target is None else expression.cast(target)
    return columns


def _read_type(key: str, source: pa.DataType) -> pa.DataType | None:
    """The type field ``key`` is read as (None: as stored)."""
    if key in ("lat", "lon"):
        numeric = pa.types.is_floating(source) or pa.types.is_integer(source)
        return None if numeric or _is_text(source) else pa.float64()
    if key in _TEMPORAL_KEYS and pa.types.is_timestamp(source):
        return None
    if key in _TEMPORAL_KEYS and pa.types.is_date(source):
        return pa.timestamp("ms")
    return None if _is_text(source) else pa.string()


def _is_text(source: pa.DataType) -> bool:
    return (
        pa.types.is_string(source)
        or pa.types.is_large_string(source)
        or pa.types.is_string_view(source)
    )


def _batches(
    dataset: ds.Dataset, columns: dict[str, pc.Expression], batch_rows: int, location: str
) -> Iterator[pd.DataFrame]:
    """Record batches of at most ``batch_rows`` rows, small ones coalesced, as pandas frames."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    try:
        scan = dataset.to_batches(  # threaded scans read ahead without bound (pyarrow 26)
            columns=columns, batch_size=batch_rows, use_threads=False
        )
        for batch in scan:
            if rows + batch.num_rows > batch_rows and pending:
                frame = pa.Table.from_batches(pending).to_pandas()
                pending, rows = [], 0  # the Arrow buffers go before the frame is used
                yield frame
            pending.append(batch)
            rows += batch.num_rows
        if rows:
            yield pa.Table.from_batches(pending).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise FaseInputError(location, f"cannot be read as Parquet: {exc}") from exc
