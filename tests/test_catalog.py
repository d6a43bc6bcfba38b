"""``fase datasets fetch`` against a server on 127.0.0.1 (started and stopped here): a fetch
from the upstream URLs (a zip member, gzip-compressed on the way) and from a mirror runs
the city; a wrong checksum, a truncated transfer, a 404 and a server that stops mid-file
each give one clear error and leave no file in the data folder; an interrupted download
resumes with a Range request; nothing is downloaded unless asked."""

from __future__ import annotations

import gzip
import hashlib
import io
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from tests.helpers.city import write_city
from typer.testing import CliRunner

from fase.catalog import content_sha256, partial_dir
from fase.cli import app
from fase.data.tensors import Tensors

SERVER_TIMEOUT_S = 20  # the server thread stops by itself after this long


@dataclass
class Files:
    """What the test server serves: URL path → bytes, and how it misbehaves."""

    content: dict[str, bytes] = field(default_factory=dict)
    truncate: set[str] = field(default_factory=set)  # announce the length, send half, close
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range)


def make_handler(files: Files) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            files.requests.append((self.path, self.headers.get("Range")))
            body = files.content.get(self.path)
            if body is None:
                self.send_error(404, "Not Found")
                return
            start = 0
            if self.headers.get("Range"):
                start = int(self.headers["Range"].removeprefix("bytes=").split("-")[0])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            rest = body[start:]
            self.send_header("Content-Length", str(len(rest)))
            self.end_headers()
            if self.path in files.truncate:
                self.wfile.write(rest[: len(rest) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(rest)

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[str, Files]]:
    files = Files()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(files))
    httpd.timeout = 1
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    stopper = threading.Timer(SERVER_TIMEOUT_S, httpd.shutdown)
    stopper.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", files
    finally:
        stopper.cancel()
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """An empty data folder and user cache: nothing of the machine's is used."""
    root, cache = tmp_path / "data-root", tmp_path / "cache"
    monkeypatch.setenv("FASE_DATA_ROOT", str(root))
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.delenv("FASE_DATA_MIRROR", raising=False)
    return {"root": root, "cache": cache}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def city_dataset(tmp_path: Path, base: str, files: Files) -> tuple[Path, int]:
    """A grid city whose three files are fetched: the incidents from a zip archive
    (kept gzip-compressed), the polygons and the demographics as they are. Returns the
    dataset YAML and the number of incidents."""
    rng = np.random.default_rng(3)
    days = pd.Timestamp("2021-03-01") + pd.to_timedelta(rng.integers(0, 6 * 86_400, 200), "s")
    frame = pd.DataFrame(
        {"time": days.strftime("%Y-%m-%d %H:%M:%S"), "node": rng.integers(1, 10, 200)}
    )
    city = write_city(tmp_path / "made", frame, "2021-03-01", "2021-03-07", tz="UTC")
    spec = yaml.safe_load(city.config.read_text())["dataset"]
    incidents = city.incidents.read_bytes()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("incidents.csv", incidents)
    files.content["/upstream/incidents.zip"] = archive.getvalue()
    files.content["/upstream/areas.geojson"] = city.polygons.read_bytes()
    files.content["/upstream/demographics.csv"] = city.demographics.read_bytes()
    kept = {
        "city/incidents.csv.gz": (incidents, "incidents.zip", gzip.compress(incidents)),
        "city/areas.geojson": (city.polygons.read_bytes(), "areas.geojson", None),
        "city/demographics.csv": (city.demographics.read_bytes(), "demographics.csv", None),
    }
    for relative, (content, _, stored) in kept.items():  # the mirror: the kept form
        files.content[f"/mirror/{relative}"] = stored if stored is not None else content
    spec["name"] = "gridcity"
    spec["incidents"]["path"] = "{data_root}/city/incidents.csv.gz"
    spec["areas"]["path"] = "{data_root}/city/areas.geojson"
    spec["demographics"]["path"] = "{data_root}/city/demographics.csv"
    spec["files"] = [
        {
            "path": relative,
            "sha256": sha256(content),
            "bytes": len(stored if stored is not None else content),
            "url": f"{base}/upstream/{name}",
        }
        for relative, (content, name, stored) in kept.items()
    ]
    path = tmp_path / "gridcity.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path, len(frame)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in output, output
    return result.exit_code, output


def data_folder_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_fetch_from_upstream_then_the_city_runs(server, folders, tmp_path) -> None:
    base, files = server
    dataset, incidents = city_dataset(tmp_path, base, files)
    code, output = invoke("data", "--dataset", str(dataset), "--out", str(tmp_path / "r0"))
    assert code == 2 and "fase datasets fetch" in output  # nothing downloaded unasked
    assert files.requests == []
    code, output = invoke("datasets", "fetch", str(dataset), "--no-progress")
    assert code == 0, output
    kept = folders["root"] / "city" / "incidents.csv.gz"
    assert kept.read_bytes()[:2] == b"\x1f\x8b"  # the zip member, gzip-compressed
    assert content_sha256(kept) == sha256(
        gzip.decompress(files.content["/mirror/" + "city/incidents.csv.gz"])
    )
    assert data_folder_files(folders["root"]) == [
        "city/areas.geojson",
        "city/demographics.csv",
        "city/incidents.csv.gz",
    ]
    code, output = invoke("data", "--dataset", str(dataset), "--out", str(tmp_path / "run"))
    assert code == 0, output
    tensors = Tensors.load(tmp_path / "run")
    assert tensors.y.shape[0] == 9 and int(tensors.y.sum()) == incidents
    code, output = invoke("datasets", "fetch", str(dataset), "--no-progress")
    assert code == 0 and output.count("already there, checksum verified") == 3


def test_fetch_from_a_mirror(server, folders, tmp_path, monkeypatch) -> None:
    base, files = server
    dataset, _ = city_dataset(tmp_path, base, files)
    monkeypatch.setenv("FASE_DATA_MIRROR", f"{base}/mirror")
    code, output = invoke("datasets", "fetch", str(dataset), "--no-progress")
    assert code == 0, output
    assert {path for path, _ in files.requests} == {
        "/mirror/city/incidents.csv.gz",
        "/mirror/city/areas.geojson",
        "/mirror/city/demographics.csv",
    }
    assert len(data_folder_files(folders["root"])) == 3


def corrupt(files: Files) -> None:
    files.content["/upstream/areas.geojson"] = files.content["/upstream/areas.geojson"] + b" "


def missing(files: Files) -> None:
    del files.content["/upstream/areas.geojson"]


def truncated(files: Files) -> None:
    files.truncate.add("/upstream/areas.geojson")


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (corrupt, "checksum mismatch"),
        (missing, "HTTP 404"),
        (truncated, "download interrupted"),
    ],
)
def test_a_failed_download_leaves_nothing_a_command_accepts(
    server, folders, tmp_path, breakage, message
) -> None:
    base, files = server
    dataset, _ = city_dataset(tmp_path, base, files)
    breakage(files)
    code, output = invoke("datasets", "fetch", str(dataset), "--no-progress")
    assert code == 2 and message in output, output
    first_error = next(line for line in output.splitlines() if line.startswith("error: "))
    assert first_error.startswith("error: city/areas.geojson: ")
    assert "city/areas.geojson" not in data_folder_files(folders["root"])
    assert not list(folders["root"].rglob("*.part"))
    code, output = invoke("data", "--dataset", str(dataset), "--out", str(tmp_path / "run"))
    assert code == 2 and "has not been fetched" in output


def test_a_server_that_stops_mid_file_is_resumed_with_a_range_request(
    server, folders, tmp_path
) -> None:
    base, files = server
    dataset, _ = city_dataset(tmp_path, base, files)
    files.truncate.add("/upstream/areas.geojson")
    code, output = invoke("datasets", "fetch", str(dataset), "--no-progress")
    assert code == 2 and "run the same command again to resume" in output
    partial = list(partial_dir().glob("*.part"))
    assert len(partial) == 1 and partial[0].stat().st_size > 0  # kept outside the data folder
    files.truncate.clear()
    code, output = invoke("datasets", "fetch", str(dataset), "--no-progress")
    assert code == 0, output
    size = len(files.content["/upstream/areas.geojson"])
    assert ("/upstream/areas.geojson", f"bytes={size // 2}-") in files.requests
    assert content_sha256(folders["root"] / "city" / "areas.geojson") == sha256(
        files.content["/upstream/areas.geojson"]
    )
    assert not list(partial_dir().glob("*.part"))


def test_listing_names_every_dataset_with_its_sources_and_checksums(folders, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # one line per row: the checksums are not folded
    code, output = invoke("datasets", "list")
    assert code == 0, output
    for name in ("chicago", "nyc", "baltimore", "la-westla"):
        assert name in output
    assert "1065be2ef2bf335b64f29240028ee1abc4e7502bd6c021ba1559b75744739308" in output
    assert "raw.githubusercontent.com/LZH-YS1998/STHSL" in output
    assert "ships with the package" in output  # chicago
