"""Atomic writes for artefacts and checkpoints.

Every artefact is written to a temporary file in the destination directory and
then moved into place with :func:`os.replace`, which is atomic on POSIX and
Windows. A crash mid-write therefore leaves either the old file or the new one,
never a truncated file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left untouched.
    ``suffix`` lets libraries that insist on an extension (``np.savez``) keep it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=suffix + ".tmp", dir=path.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual file mode
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file for writing; it replaces ``path`` only if the block succeeds."""
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


def write_text(path: str | Path, text: str) -> Path:
    """Atomically write ``text`` (UTF-8) to ``path``."""
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return Path(path)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_json(path: str | Path, payload: Any) -> Path:
    """Atomically write ``payload`` as indented JSON (NumPy scalars and arrays allowed)."""
    text = json.dumps(payload, indent=2, default=_json_default, allow_nan=True)
    return write_text(path, text + "\n")


def read_json(path: str | Path) -> Any:
    """Read a JSON file written by :func:`write_json`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_npz(path: str | Path, arrays: Mapping[str, np.ndarray], compressed: bool = True) -> Path:
    """Atomically write NumPy arrays to ``path`` (``.npz``; loadable with ``allow_pickle=False``).

    Object arrays are refused so that every artefact can be read without pickle.
    """
    for name, array in arrays.items():
        if np.asarray(array).dtype == object:
            raise TypeError(f"array {name!r} has dtype object; artefacts must load without pickle")
    saver = np.savez_compressed if compressed else np.savez
    with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as handle:
        saver(handle, **{k: np.asarray(v) for k, v in arrays.items()})
    return Path(path)


def read_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Load every array of an ``.npz`` written by :func:`write_npz` (no pickle)."""
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}
