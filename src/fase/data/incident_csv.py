"""CSV incident files: the wanted columns of a local (optionally gzipped) file, in batches.

Only the mapped columns are parsed (pandas C engine), ``batch_rows`` rows at a time, so
memory stays bounded on files of tens of millions of rows. Latitude and longitude are
left to the parser's float inference; every other column is read as text. The cleaning
of each batch is :func:`fase.data.incidents.clean_batch`, shared with Parquet.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from fase.data.incident_formats import Layout, ReadSettings, column_layout
from fase.errors import FaseInputError

_READ_ERRORS = (pd.errors.ParserError, UnicodeError, EOFError, OSError, zlib.error)


def open_csv(
    path: Path, settings: ReadSettings, batch_rows: int
) -> tuple[Layout, Iterator[pd.DataFrame]]:
    """Check the file and its header now; return its layout and its batches.

    Each batch holds the wanted columns labelled ``c<position>`` (see
    :class:`~fase.data.incident_formats.Layout`). Raises :class:`FaseInputError` on a
    missing, empty or unreadable file or a missing column (also while iterating).
    """
    compression = _compression(path)
    layout = column_layout(path, settings, first_rows(path, settings.delimiter, 1)[0])
    return layout, _batches(path, settings, layout, compression, batch_rows)


def first_rows(path: Path, delimiter: str = ",", rows: int = 2) -> list[list[str]]:
    """The fields of the file's first ``rows`` lines (header or data), as text."""
    compression = _compression(path)
    _refuse_binary(path, compression)
    try:
        head = pd.read_csv(
            path,
            header=None,
            nrows=rows,
            dtype=str,
            keep_default_na=False,
            **_read_options(delimiter, compression),
        )
    except pd.errors.EmptyDataError as exc:
        raise FaseInputError(path, "the incident file is empty (no lines)") from exc
    except _READ_ERRORS as exc:
        raise FaseInputError(path, f"cannot be read as CSV: {exc}") from exc
    return [[str(value).strip() for value in row] for row in head.itertuples(index=False)]


def _compression(path: Path) -> str:
    if not path.is_file():
        raise FaseInputError(path, "incident file not found", "check dataset.incidents.path")
    if path.stat().st_size == 0:
        raise FaseInputError(path, "the incident file is empty (0 bytes)")
    with open(path, "rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    if gzipped:
        return "gzip"
    if path.suffix == ".gz":
        raise FaseInputError(
            path,
            "the name ends in .gz but the file is not gzip-compressed",
            "re-compress it with gzip, or remove the .gz suffix if it is plain CSV",
        )
    return "infer"


def _refuse_binary(path: Path, compression: str) -> None:
    """Refuse a file whose first 64 KiB hold NUL bytes: binary data, or UTF-16 text (a
    spreadsheet's "Unicode text" export), which the CSV parser would read as garbage."""
    opener = gzip.open if compression == "gzip" else open
    try:
        with opener(path, "rb") as handle:
            head = handle.read(65_536)
    except (OSError, EOFError, zlib.error) as exc:
        raise FaseInputError(path, f"cannot be read: {exc}") from exc
    if b"\x00" in head:
        utf16 = head[:2] in (b"\xff\xfe", b"\xfe\xff")
        raise FaseInputError(
            path,
            "is UTF-16 text, not a UTF-8 CSV"
            if utf16
            else "holds NUL bytes: a binary file, not a CSV text file",
            "save it as CSV (UTF-8)" if utf16 else "give the incident CSV itself",
        )


def _read_options(delimiter: str, compression: str) -> dict[str, object]:
    return {
        "sep": delimiter,
        "compression": compression,
        "encoding": "utf-8-sig",  # strips a byte-order mark
        "encoding_errors": "replace",
        "index_col": False,
    }


def _batches(
    path: Path, settings: ReadSettings, layout: Layout, compression: str, batch_rows: int
) -> Iterator[pd.DataFrame]:
    """The wanted columns, ``batch_rows`` rows at a time, labelled ``c<position>``."""
    numeric = {layout.labels["lat"], layout.labels["lon"]}  # left to the C parser's float inference
    used = sorted(set(layout.labels.values()), key=lambda label: int(label[1:]))
    try:
        with pd.read_csv(
            path,
            header=0 if layout.header else None,
            names=[f"c{i}" for i in range(layout.n_fields)],
            usecols=used,
            dtype={label: str for label in used if label not in numeric},
            chunksize=batch_rows,
            low_memory=False,
            **_read_options(settings.delimiter, compression),
        ) as reader:
            yield from reader
    except _READ_ERRORS as exc:
        raise FaseInputError(path, f"cannot be read as CSV: {exc}") from exc
