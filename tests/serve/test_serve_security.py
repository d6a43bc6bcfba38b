"""The service's API key and body limit, over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from tests.helpers.browser import OFFLINE, run_chromium
from tests.serve.server import Service
from tests.serve.test_serve_http import body, make_batches
from tests.simulation.trained_run import write_trained_run
from typer.testing import CliRunner

from fase.cli import reports_errors
from fase.cli.serve import serve_command
from fase.serve.security import is_loopback

KEY = "k3y-for-the-tests-0123456789"
CHUNK = 2**20
BODY_MB = 50
RSS_GROWTH_BOUND_MB = 64  # the limit is 16 MB: a refused 50 MB body must not be kept


def rss_mb(pid: int) -> float:
    """Resident set size of process ``pid`` (MB), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_trained_run(tmp_path_factory.mktemp("secure"))


@pytest.fixture(scope="module")
def keyed(run_dir: Path) -> Iterator[Service]:
    key_file = run_dir.parent / "key.txt"
    key_file.write_text(KEY + "\n")
    service = Service(
        run_dir, run_dir.parent / "keyed.sqlite", "--period", "1d", "--threads", "1",
        "--token-file", str(key_file),
    ).start()  # fmt: skip
    try:
        yield service
    finally:
        service.stop()


def stored(service: Service) -> int:
    return int(service.get("/health").json()["incidents_stored"])


def test_writes_need_the_key(keyed: Service) -> None:
    batch = body(make_batches(1, seed=11)[0])
    before = stored(keyed)
    missing = keyed.post("/incidents", json=batch)
    wrong = keyed.post("/incidents", json=batch, headers={"Authorization": "Bearer nope"})
    for response in (missing, wrong):
        assert response.status_code == 401
        assert response.json()["detail"][0]["field"] == "Authorization"
        assert KEY not in response.text
    assert stored(keyed) == before  # nothing changed
    right = keyed.post("/incidents", json=batch, headers={"Authorization": f"Bearer {KEY}"})
    assert right.status_code == 200, right.text
    assert stored(keyed) == before + right.json()["accepted"] > before
    assert keyed.get("/forecast").status_code == 200  # reads stay open without --protect-reads


def test_a_chunked_body_over_the_limit_is_refused_with_bounded_memory(keyed: Service) -> None:
    assert keyed.process is not None
    before = rss_mb(keyed.process.pid)

    def chunks() -> Iterator[bytes]:
        for _ in range(BODY_MB):
            yield b" " * CHUNK

    assert keyed.client is not None
    response = keyed.client.post(
        "/incidents", content=chunks(), headers={"Authorization": f"Bearer {KEY}"}
    )
    assert response.status_code == 413
    assert response.json()["detail"][0]["field"] == "body"
    assert rss_mb(keyed.process.pid) - before < RSS_GROWTH_BOUND_MB
    assert keyed.get("/health").status_code == 200  # and the service is still up


def invoke(*args: str) -> tuple[int, str]:
    app = typer.Typer(add_completion=False)
    app.command()(reports_errors(serve_command))
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_listening_beyond_this_machine_needs_a_key(run_dir: Path, monkeypatch) -> None:
    monkeypatch.delenv("FASE_SERVE_TOKEN", raising=False)
    code, output = invoke(str(run_dir), "--host", "0.0.0.0")
    assert code == 2 and "0.0.0.0 is reachable from other machines and no API key is set" in output
    short = run_dir.parent / "short.txt"
    short.write_text("abc\n")
    code, output = invoke(str(run_dir), "--token-file", str(short))
    assert code == 2 and "at least 16 printable characters" in output
    code, output = invoke(str(run_dir), "--protect-reads")
    assert code == 2 and "--protect-reads" in output


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("10.0.0.5", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_protect_reads_guards_every_path_but_health() -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from fase.serve.security import TokenGuard

    async def ok(_request: object) -> PlainTextResponse:
        return PlainTextResponse("ok")

    inner = Starlette(routes=[Route("/forecast", ok), Route("/health", ok)])
    client = TestClient(TokenGuard(inner, KEY, protect_reads=True))
    assert client.get("/forecast").status_code == 401
    assert client.get("/forecast", headers={"Authorization": f"bearer {KEY}"}).status_code == 200
    assert client.get("/health").status_code == 200


def test_docs_render_offline_in_chromium(keyed: Service, tmp_path: Path, chromium: str) -> None:
    """/docs is Swagger UI from the service's own files: with every other host unreachable,
    Chromium renders the API's operations."""
    assert keyed.client is not None
    page = keyed.get("/docs").text
    assert "/docs-assets/swagger-ui-bundle.js" in page and "cdn" not in page
    assert keyed.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    url = f"{keyed.client.base_url}/docs"
    result = run_chromium(
        chromium, tmp_path / "profile", url, OFFLINE, "--virtual-time-budget=10000", "--dump-dom"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert "FASE live forecasting service" in dom
    assert 'data-path="/incidents"' in dom and 'data-path="/forecast"' in dom


def test_a_second_service_on_the_same_database_is_refused(keyed: Service, run_dir: Path) -> None:
    code, output = invoke(str(run_dir), "--db", str(keyed.db), "--port", "0")
    assert code == 2 and "is in use by another `fase serve`" in output
    assert keyed.get("/health").status_code == 200  # the first one is untouched
