"""The live record cannot be poisoned silently, over real HTTP on 127.0.0.1.

The tiny run (tests/simulation/trained_run.py) has hourly UTC bins from 2021-03-01 to
2021-03-21 00:00 (480 bins); the service forecasts one day, so before any incident
its next period starts at 2021-03-21T00:00:00+00:00. Quorum Q = 3 (the default).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import httpx
import pytest
from tests.helpers.city import cell_center
from tests.serve.server import Service
from tests.simulation.trained_run import write_trained_run

KEY = "record-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}
RUN_END = "2021-03-21T00:00:00+00:00"


def incident(id_: str, occurred_at: str, node: int = 2) -> dict:
    lon, lat = cell_center(node)
    return {"id": id_, "occurred_at": occurred_at, "lat": lat, "lon": lon}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    root = tmp_path_factory.mktemp("record")
    run_dir = write_trained_run(root)
    key_file = root / "key.txt"
    key_file.write_text(KEY + "\n")
    options = ("--period", "1d", "--threads", "1", "--token-file", str(key_file))
    live = Service(run_dir, root / "live.sqlite", *options).start()
    try:
        yield live
    finally:
        live.stop()


def post(service: Service, *rows: dict) -> dict:
    response = service.post("/incidents", json={"incidents": list(rows)}, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def retract(service: Service, id_: str, headers: dict | None = AUTH) -> httpx.Response:
    assert service.client is not None
    return service.client.delete(
        f"/incidents/{id_}", params={"reason": "date typed a year late"}, headers=headers
    )


def forecast(service: Service) -> bytes:
    response = service.get("/forecast")
    assert response.status_code == 200, response.text
    return response.content


def test_one_far_future_record_is_held_out_then_retracted(service: Service) -> None:
    before = forecast(service)
    assert json.loads(before)["period"]["start"] == RUN_END

    # A record dated 30 days after the data (meant: the month before) is stored but
    # waits outside the record: the period and every number of the forecast stay.
    stray = post(service, incident("stray", "2021-04-20T10:30:00Z"))
    assert (stray["accepted"], stray["incidents_pending"]) == (1, 1)
    assert stray["next_period_start"] == RUN_END
    held = forecast(service)
    assert json.loads(held) == {**json.loads(before), "incidents_stored": 1}
    pending = service.get("/incidents/pending").json()
    assert [(p["id"], p["bin_start"]) for p in pending["incidents"]] == [
        ("stray", "2021-04-20T10:00:00+00:00")
    ]

    # A record in the run's last bin changes the forecast; its retraction restores the
    # forecast bit for bit.
    post(service, incident("late", "2021-03-20T23:40:00Z", node=5))
    changed = json.loads(forecast(service))
    assert changed["expected"] != json.loads(held)["expected"]
    assert changed["period"]["start"] == RUN_END
    assert retract(service, "late").json() == {
        "retracted": "late",
        "incidents_stored": 1,
        "incidents_pending": 1,
        "next_period_start": RUN_END,
    }
    assert forecast(service) == held

    # The stray record retracted: the service answers what it answered before any.
    assert retract(service, "stray").status_code == 200
    assert forecast(service) == before
    with sqlite3.connect(service.db) as db:
        log = db.execute("SELECT id, reason FROM retractions ORDER BY id").fetchall()
    assert log == [("late", "date typed a year late"), ("stray", "date typed a year late")]


def test_the_period_moves_when_a_quorum_reaches_a_bin(service: Service) -> None:
    # Q = 3 incidents at 10:xx, 11:xx, 12:xx on 2021-04-20: the latest bin with three at
    # or after it is 10:00, so the record is complete through it and the period starts
    # at 11:00. Two are not enough.
    two = post(
        service,
        incident("q1", "2021-04-20T10:05:00Z"),
        incident("q2", "2021-04-20T11:05:00Z"),
    )
    assert (two["incidents_pending"], two["next_period_start"]) == (2, RUN_END)
    three = post(service, incident("q3", "2021-04-20T12:05:00Z"))
    assert three["next_period_start"] == "2021-04-20T11:00:00+00:00"
    assert three["incidents_pending"] == 2  # q2 and q3 lie at or after 11:00
    assert json.loads(forecast(service))["period"]["start"] == "2021-04-20T11:00:00+00:00"
    for id_ in ("q1", "q2", "q3"):
        assert retract(service, id_).status_code == 200
    assert service.get("/health").json()["next_period_start"] == RUN_END


def test_a_retraction_needs_the_key_and_a_stored_id(service: Service) -> None:
    post(service, incident("kept", "2021-03-20T22:10:00Z"))
    stored = service.get("/health").json()["incidents_stored"]
    assert retract(service, "kept", headers=None).status_code == 401
    assert retract(service, "kept", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert service.get("/health").json()["incidents_stored"] == stored
    missing = retract(service, "never-posted")
    assert missing.status_code == 404
    assert missing.json()["detail"][0]["field"] == "incident_id"
    assert service.client is not None
    blank = service.client.delete("/incidents/kept", params={"reason": " "}, headers=AUTH)
    assert blank.status_code == 422 and blank.json()["detail"][0]["field"] == "reason"
    assert retract(service, "kept").status_code == 200


def test_a_restart_keeps_the_period_rule(service: Service) -> None:
    post(service, incident("r1", "2021-05-01T08:00:00Z"))
    answer = forecast(service)
    service.stop()
    service.start()
    assert forecast(service) == answer
    assert service.get("/health").json()["incidents_pending"] == 1
    retract(service, "r1")


@pytest.mark.parametrize("raw_id", ["%00", "%ED%A0%80", "%20", "a%0Ab", "x" * 300])
def test_a_hostile_id_to_retract_is_a_4xx(service: Service, raw_id: str) -> None:
    assert service.client is not None
    response = service.client.delete(
        f"/incidents/{raw_id}", params={"reason": "test"}, headers=AUTH
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["detail"][0]["problem"]
