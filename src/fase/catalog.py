"""The datasets a user can get: ``fase datasets list`` and ``fase datasets fetch NAME``.

Chicago ships inside the package (``embedded:``), like every file that exists only as
our derivation (the block-geocoded Baltimore records, the NYC neighbourhood polygons,
the LA ZCTA demographics). Every other file of a dataset is fetched, on request only,
from its public upstream source (a pinned commit of a public repository) into the data
folder (:func:`fase.config.loader.data_root`: ``$FASE_DATA_ROOT``, else the user cache).

A fetch, per file (:class:`~fase.config.DataFile`):

* skips a file already there with the right checksum;
* downloads from ``$FASE_DATA_MIRROR/<path>`` when the mirror is set (a base URL, or a
  folder, laid out like the data folder: institutions behind a firewall), else from the
  upstream URL — the member of a zip archive, gzip-compressed when the kept file is
  ``.gz``;
* resumes an interrupted download (an HTTP ``Range`` request on the partial file, kept
  outside the data folder, in the user cache's ``partial/`` folder, where no command reads);
* verifies the SHA-256 of the content (decompressed for a ``.gz`` file) and only then
  moves the file into place atomically; a corrupt download is deleted.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import sys
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path

import platformdirs
from tqdm.auto import tqdm

from fase.config import DataFile, DatasetConfig
from fase.config.dataset import BenchmarkConfig
from fase.config.loader import (
    EMBEDDED_DIR,
    available_benchmarks,
    available_datasets,
    data_root,
    load_benchmark_config,
    load_dataset,
)
from fase.data.incident_formats import FORMATS
from fase.errors import FaseInputError
from fase.io import atomic_path
from fase.progress import Say, silent

MIRROR_ENV = "FASE_DATA_MIRROR"
TIMEOUT_S = 30.0  # per network operation (connect, each read)
CHUNK = 1 << 16
RETRY_HINT = "run the same command again to resume, or set FASE_DATA_MIRROR to a copy"


@dataclass(frozen=True)
class DatasetInfo:
    """One line of ``fase datasets list``: a city dataset or a published benchmark."""

    dataset: DatasetConfig | BenchmarkConfig
    fetched: int  # files present in the data folder (existence; ``fetch`` verifies)

    @property
    def name(self) -> str:
        return self.dataset.name

    @property
    def period(self) -> str:
        if isinstance(self.dataset, BenchmarkConfig):
            return self.dataset.period or "as published"
        calendar = self.dataset.calendar
        return "from the data" if calendar is None else f"{calendar.start} → {calendar.end}"

    @property
    def resolution(self) -> str:
        if isinstance(self.dataset, BenchmarkConfig):
            return "daily"
        source = self.dataset.incidents
        spec = FORMATS.get(source.format)
        daily = source.time_precision == "day" or (
            spec is not None and spec.time_precision == "day"
        )
        return "daily" if daily else "hourly"

    @property
    def size_bytes(self) -> int:
        """Fetched files' sizes, plus the files shipped inside the package."""
        paths = [] if isinstance(self.dataset, BenchmarkConfig) else _paths(self.dataset)
        shipped = sum(
            Path(p).stat().st_size
            for p in paths
            if Path(p).is_relative_to(EMBEDDED_DIR) and Path(p).is_file()
        )
        return shipped + sum(f.bytes for f in self.dataset.files)

    @property
    def status(self) -> str:
        files = self.dataset.files
        if not files:
            return "ships with the package"
        if self.fetched == len(files):
            return "fetched"
        return f"to fetch ({len(files) - self.fetched} of {len(files)} files)"


def _paths(ds: DatasetConfig) -> list[str]:
    paths = [ds.incidents.path, ds.areas.path, ds.demographics.path]
    if ds.areas.territory is not None:
        paths.append(ds.areas.territory.path)
    return [p for p in paths if p]


def list_datasets() -> list[DatasetInfo]:
    """Every shipped dataset, then every published benchmark, with what is already in the
    data folder."""
    root = data_root()
    infos = []
    entries: list[DatasetConfig | BenchmarkConfig] = [load_dataset(n) for n in available_datasets()]
    entries += [load_benchmark_config(n) for n in available_benchmarks()]
    for ds in entries:
        fetched = sum((root / f.path).is_file() for f in ds.files)
        infos.append(DatasetInfo(ds, fetched))
    return infos


def content_sha256(path: Path) -> str:
    """SHA-256 of a file's content: of its decompressed bytes when it is gzip-compressed."""
    digest = hashlib.sha256()
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    try:
        with opener(path, "rb") as handle:
            while block := handle.read(CHUNK):
                digest.update(block)
    except (OSError, EOFError, zlib.error) as exc:  # a truncated or corrupt gzip stream
        return f"unreadable ({exc})"
    return digest.hexdigest()


def fetch_dataset(name: str, say: Say = silent, progress: bool | None = None) -> list[Path]:
    """Fetch every file of dataset ``name`` (a shipped dataset or published benchmark, or
    a dataset YAML that lists ``files``) into the data folder (module docstring); return
    their paths. Nothing is downloaded for a dataset that ships with the package.

    Raises:
        FaseInputError: an unknown dataset, a failed, interrupted or corrupt download
            (naming the file, the source and what to do; no bad file is left in place).
    """
    benchmark = name in available_benchmarks()
    ds = load_benchmark_config(name) if benchmark else load_dataset(name)
    root = data_root()
    if not ds.files:
        say(f"{name} ships inside the package: nothing to fetch")
        return []
    mirror = os.environ.get(MIRROR_ENV)
    kept = []
    for file in ds.files:
        target = root / file.path
        if target.is_file() and content_sha256(target) == file.sha256:
            say(f"{file.path}: already there, checksum verified")
            kept.append(target)
            continue
        source = _mirror_location(mirror, file.path) if mirror else file.url
        say(f"{file.path}: fetching from {source}")
        _fetch_file(file, source, target, from_mirror=mirror is not None, progress=progress)
        say(f"{file.path}: checksum verified")
        kept.append(target)
    return kept


def partial_dir() -> Path:
    """Where interrupted downloads wait to be resumed: outside every data folder."""
    return Path(platformdirs.user_cache_dir("fase")) / "partial"


def _mirror_location(mirror: str, relative: str) -> str:
    """The mirror's copy of ``relative``: a URL under the base URL, or a local path."""
    if "://" in mirror:
        return mirror.rstrip("/") + "/" + urllib.parse.quote(relative)
    return str(Path(mirror).expanduser() / relative)


def _fetch_file(
    file: DataFile, source: str, target: Path, from_mirror: bool, progress: bool | None
) -> None:
    """Download ``source`` (resuming its partial file), turn it into the kept form,
    verify it and move it onto ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    part = partial_dir() / f"{hashlib.sha256(source.encode()).hexdigest()[:16]}.part"
    part.parent.mkdir(parents=True, exist_ok=True)
    if "://" in source and not source.startswith("file://"):
        _download(source, part, file, progress)
    else:
        _copy_local(source, part, file)
    with atomic_path(target) as tmp:
        try:
            _keep_form(part, tmp, file, upstream=not from_mirror)
        except (zipfile.BadZipFile, OSError, EOFError, KeyError) as exc:
            part.unlink(missing_ok=True)
            raise FaseInputError(
                file.path,
                f"the downloaded file cannot be unpacked ({exc}); it was deleted",
                RETRY_HINT,
            ) from exc
        got = content_sha256(tmp)
        if got != file.sha256:
            part.unlink(missing_ok=True)
            raise FaseInputError(
                file.path,
                f"checksum mismatch: expected sha256 {file.sha256[:16]}…, got {got[:16]}…; "
                "the download was deleted",
                "the transfer was corrupted or the source changed: run the command again, "
                "or set FASE_DATA_MIRROR to a verified copy",
            )
    part.unlink(missing_ok=True)


def _copy_local(source: str, part: Path, file: DataFile) -> None:
    path = (
        Path(urllib.parse.urlparse(source).path) if source.startswith("file://") else Path(source)
    )
    if not path.is_file():
        raise FaseInputError(file.path, "not in the mirror folder", "check FASE_DATA_MIRROR")
    shutil.copyfile(path, part)


def _download(url: str, part: Path, file: DataFile, progress: bool | None) -> None:
    """Stream ``url`` into ``part``, continuing a partial download with a Range request."""
    have = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": "fase-datasets"}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the partial file is complete (or bad): start again
            part.unlink()
            return _download(url, part, file, progress)
        raise FaseInputError(
            file.path, f"download failed: HTTP {exc.code} {exc.reason} from {url}", RETRY_HINT
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FaseInputError(file.path, f"cannot reach {url} ({reason})", RETRY_HINT) from None
    with response:
        if have and response.status != 206:  # the server ignored the range: start over
            have = 0
        length = response.headers.get("Content-Length")
        expected = have + int(length) if length is not None else None
        written = have
        show = sys.stderr.isatty() if progress is None else progress
        bar = tqdm(
            total=expected,
            initial=have,
            unit="B",
            unit_scale=True,
            desc=Path(file.path).name,
            disable=not show,
            file=sys.stderr,
        )
        try:
            with bar, open(part, "ab" if have else "wb") as out:
                while block := response.read(CHUNK):
                    out.write(block)
                    written += len(block)
                    bar.update(len(block))
        except (HTTPException, OSError, TimeoutError) as exc:
            raise FaseInputError(
                file.path,
                f"download interrupted after {written:,} bytes ({type(exc).__name__})",
                RETRY_HINT,
            ) from None
    if expected is not None and written < expected:
        raise FaseInputError(
            file.path,
            f"download interrupted after {written:,} of {expected:,} bytes",
            RETRY_HINT,
        )
    return None


def _keep_form(downloaded: Path, out: Path, file: DataFile, upstream: bool) -> None:
    """Write the kept form of ``downloaded`` to ``out``: a mirror's copy as it is; an
    upstream file unpacked from its zip archive and gzip-compressed for a ``.gz`` path."""
    if not upstream:
        shutil.copyfile(downloaded, out)
        return
    payload: bytes | None = None
    if urllib.parse.urlparse(file.url).path.lower().endswith(".zip"):
        with zipfile.ZipFile(downloaded) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
            member = file.member or (names[0] if len(names) == 1 else None)
            if member is None:
                raise KeyError(f"the archive holds {names}: set the file's member")
            payload = archive.read(member)
    with open(downloaded, "rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    if file.path.endswith(".gz") and (payload is not None or not gzipped):
        data = payload if payload is not None else downloaded.read_bytes()
        with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as packed:
            shutil.copyfileobj(io.BytesIO(data), packed)
    elif payload is not None:
        out.write_bytes(payload)
    else:
        shutil.copyfile(downloaded, out)
