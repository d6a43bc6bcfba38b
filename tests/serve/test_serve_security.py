"""The service's API key and body limit, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import socket
import time
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


GOOD_ROW = {
    "id": "strict-0",
    "occurred_at": "2021-03-20T10:00:00Z",
    "lat": 41.7578,
    "lon": -87.7422,
}
NOT_ACCEPTED = [
    ("latitude as text", {"lat": "41.7578"}, "incidents[0].lat"),
    ("latitude as boolean", {"lat": True}, "incidents[0].lat"),
    ("id of one space", {"id": " "}, "incidents[0].id"),
    ("id with a NUL byte", {"id": "a\u0000b"}, "incidents[0].id"),
    ("id as number", {"id": 7}, "incidents[0].id"),
    ("type with a line break", {"type": "THEFT\n"}, "incidents[0].type"),
]


@pytest.mark.parametrize(("change", "field"), [c[1:] for c in NOT_ACCEPTED],
                         ids=[c[0] for c in NOT_ACCEPTED])  # fmt: skip
def test_request_types_are_strict(keyed: Service, change: dict, field: str) -> None:
    before = stored(keyed)
    batch = {"incidents": [GOOD_ROW | change]}
    response = keyed.post("/incidents", json=batch, headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["field"] == field
    assert stored(keyed) == before


def test_a_lone_surrogate_is_a_422_not_a_500(keyed: Service) -> None:
    row = '{"id": "\\ud800", "occurred_at": "2021-03-20T10:00:00Z", "lat": 91, "lon": 0}'
    raw = '{"incidents": [' + row + "]}"
    headers = {"Authorization": f"Bearer {KEY}", "content-type": "application/json"}
    response = keyed.post("/incidents", content=raw.encode(), headers=headers)
    assert response.status_code == 422, response.text
    assert {p["field"] for p in response.json()["detail"]} == {
        "incidents[0].id",
        "incidents[0].lat",
    }


def test_a_foreign_host_header_is_refused(keyed: Service) -> None:
    """DNS rebinding: a page of evil.example resolved to 127.0.0.1 sends its own name."""
    assert keyed.client is not None
    assert keyed.client.get("/health", headers={"Host": "evil.example"}).status_code == 400
    assert keyed.client.get("/health", headers={"Host": "localhost:1"}).status_code == 200


def test_cors_is_off_unless_an_origin_is_given(keyed: Service, run_dir: Path) -> None:
    preflight = {"Origin": "https://map.example", "Access-Control-Request-Method": "GET"}
    assert keyed.client is not None
    answer = keyed.client.options("/forecast", headers=preflight)
    assert "access-control-allow-origin" not in answer.headers
    options = ("--threads", "1", "--cors-origin", "https://map.example")
    service = Service(run_dir, run_dir.parent / "cors.sqlite", *options).start()
    try:
        assert service.client is not None
        answer = service.client.options("/forecast", headers=preflight)
        assert answer.headers["access-control-allow-origin"] == "https://map.example"
        other = service.client.options(
            "/forecast", headers=preflight | {"Origin": "https://x.example"}
        )
        assert "access-control-allow-origin" not in other.headers
    finally:
        service.stop()


def test_rate_limit_and_a_stalled_body(run_dir: Path) -> None:
    """--rate-limit 1: a burst of 10, then 429 with Retry-After (/health is not counted);
    --body-timeout 1: a body that stops arriving gets 408 after about a second."""
    options = ("--threads", "1", "--rate-limit", "1", "--body-timeout", "1")
    service = Service(run_dir, run_dir.parent / "limited.sqlite", *options).start()
    try:
        codes = [service.get("/areas.geojson").status_code for _ in range(11)]
        assert codes == [200] * 10 + [429]
        refused = service.get("/areas.geojson")
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert service.get("/health").status_code == 200
        assert service.client is not None
        port = service.client.base_url.port
        time.sleep(1.5)  # a token is back
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(
                b"POST /incidents HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"inc'
            )
            start = time.monotonic()
            answer = raw.recv(4096).decode()
            waited = time.monotonic() - start
        assert answer.startswith("HTTP/1.1 408"), answer
        assert 0.5 < waited < 5
    finally:
        service.stop()


def test_rate_limit_buckets_refill_at_the_rate() -> None:
    """Hand-computed: rate 2/s, burst 3; at t = 0 three pass and the fourth must wait
    0.5 s; at t = 0.25 half a token is back (wait 0.25 s); at t = 0.5 one passes."""
    from fase.serve.security import RateLimit

    now = [0.0]
    limit = RateLimit(app=None, rate=2.0, burst=3, clock=lambda: now[0])  # type: ignore[arg-type]
    assert [limit._take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limit._take("a") == pytest.approx(0.5)
    assert limit._take("b") == 0.0  # another client has its own bucket
    now[0] = 0.25
    assert limit._take("a") == pytest.approx(0.25)
    now[0] = 0.5
    assert limit._take("a") == 0.0
