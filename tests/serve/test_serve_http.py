"""``fase serve`` over real HTTP on localhost: a stream of incident batches, ``kill -9``
in the middle of it, a restart on the same database; then the forecast, the allocation
and the fairness answers checked against the library computed independently here, and
malformed requests.

The tiny run (tests/simulation/trained_run.py) is a 3×3 grid in UTC with hourly bins
from 2021-03-01 (480 bins); the service forecasts one day (24 bins).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import numpy as np
import pandas as pd
import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.helpers.city import SIDE, cell_center
from tests.serve.server import Service
from tests.simulation.trained_run import write_trained_run
from typer.testing import CliRunner

from fase.allocation.groups import Groups
from fase.allocation.metrics import allocation_metrics
from fase.allocation.policies import make_policy
from fase.cli import reports_errors
from fase.cli.serve import serve_command
from fase.data.features import build_features
from fase.data.pipeline import feature_spec
from fase.data.tensors import apply_scaler
from fase.forecasters import TrainedRun
from fase.models import forecast_warmup
from fase.training.forecast import forecast_span
from fase.training.windows import CountSeries

RUN_START = pd.Timestamp("2021-03-01", tz="UTC")
PERIOD_BINS = 24
BATCH = 25


def make_batches(count: int, seed: int = 3) -> list[list[dict]]:
    """``count`` batches of incidents between 2021-03-20 12:00 and 03-21 10:00 UTC (the
    run ends at 03-21 00:00), inside known cells; times naive (UTC wall time) or with an
    offset. Each incident carries its true cell and instant under ``_node``, ``_utc``."""
    rng = np.random.default_rng(seed)
    batches = []
    for b in range(count):
        rows = []
        for i in range(BATCH):
            node = int(rng.integers(1, 10))
            lon, lat = cell_center(node) + rng.uniform(-SIDE / 4, SIDE / 4, 2)
            utc = pd.Timestamp("2021-03-20 12:00", tz="UTC") + pd.Timedelta(
                minutes=int(rng.integers(0, 22 * 60))
            )
            shown = utc.tz_convert("Etc/GMT-2").isoformat() if i % 3 else f"{utc:%Y-%m-%d %H:%M:%S}"
            rows.append(
                {"id": f"s{b}-{i}", "occurred_at": shown, "lat": lat, "lon": lon, "type": "THEFT",
                 "_node": node, "_utc": utc}
            )  # fmt: skip
        batches.append(rows)
    return batches


def body(rows: list[dict]) -> dict:
    return {"incidents": [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]}


@dataclass
class Stream:
    """What happened: batches acknowledged before the kill, the one in flight, the count
    stored right after the restart, and the restarted service (every batch now stored)."""

    service: Service
    acknowledged: list[list[dict]]
    in_flight: list[dict]
    stored_after_restart: int

    @property
    def known(self) -> list[dict]:
        return [row for batch in self.acknowledged for row in batch] + self.in_flight


def groups_of(run: TrainedRun) -> Groups:
    return Groups.from_labels(run.tensors.meta["groups"])


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> TrainedRun:
    return TrainedRun.load(write_trained_run(tmp_path_factory.mktemp("serve")))


@pytest.fixture(scope="module")
def stream(run: TrainedRun) -> Iterator[Stream]:
    """Post batches from a thread; SIGKILL the service after three acknowledgements;
    restart it on the same database; re-post the batch that was in flight."""
    db = run.run.root.parent / "live.sqlite"
    options = ("--period", "1d", "--threads", "1", "--rate-limit", "0")
    first = Service(run.run.root, db, *options).start()
    batches = make_batches(200)
    acknowledged: list[list[dict]] = []
    in_flight: list[dict] = []

    def post_all() -> None:
        for batch in batches:
            try:
                response = first.post("/incidents", json=body(batch))
            except httpx.TransportError:
                in_flight.extend(batch)
                return
            assert response.status_code == 200, response.text
            acknowledged.append(batch)

    poster = threading.Thread(target=post_all)
    poster.start()
    try:
        while len(acknowledged) < 3 and poster.is_alive():
            time.sleep(0.002)
        first.kill9()
    finally:
        poster.join()
        first.stop()
    assert in_flight, "the stream ended before the kill"
    service = Service(run.run.root, db, *options).start()
    try:
        stored = service.get("/health").json()["incidents_stored"]
        response = service.post("/incidents", json=body(in_flight))
        assert response.status_code == 200, response.text
        yield Stream(service, acknowledged, in_flight, stored)
    finally:
        service.stop()


def test_acknowledged_incidents_survive_kill9_exactly_once(stream: Stream) -> None:
    acked = {row["id"] for batch in stream.acknowledged for row in batch}
    assert len(acked) >= 3 * BATCH
    # everything acknowledged is back; at most the in-flight batch was committed unanswered
    assert len(acked) <= stream.stored_after_restart <= len(acked) + BATCH
    for batch in stream.acknowledged:
        again = stream.service.post("/incidents", json=body(batch)).json()
        assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, BATCH, [])
    health = stream.service.get("/health").json()
    assert health["incidents_stored"] == len(stream.known)
    with sqlite3.connect(f"file:{stream.service.db}?mode=ro", uri=True) as db:
        ids = [row[0] for row in db.execute("SELECT id FROM incidents")]
    assert sorted(ids) == sorted(row["id"] for row in stream.known)


def live_record(run: TrainedRun, known: list[dict]) -> np.ndarray:
    """(N, F) the run's counts plus the known incidents, binned by hand: hour since
    2021-03-01 UTC, node from the cell the point was drawn in."""
    hours = np.array([(r["_utc"] - RUN_START) // pd.Timedelta("1h") for r in known])
    nodes = np.array([r["_node"] - 1 for r in known])
    n, t = run.tensors.y.shape
    record = np.zeros((n, max(t, hours.max() + 1)))
    record[:, :t] = run.tensors.y
    np.add.at(record, (nodes, hours), 1)
    return record


def model_forecast(run: TrainedRun, record: np.ndarray, fill: np.ndarray) -> dict[str, np.ndarray]:
    """forecast_span over the L bins after ``record``, whose first L − 1 counts are ``fill``
    (L − 1, N), on features built from bin 0 of the whole series."""
    n, frontier = record.shape
    counts = np.concatenate([record, fill.T, np.zeros((n, 1))], axis=1)
    starts = pd.date_range(RUN_START, periods=counts.shape[1], freq="1h")
    static = np.asarray(run.tensors.meta["static"])
    raw = build_features(counts, starts, static, feature_spec(run.cfg, pd.Timedelta("1h")))
    x = apply_scaler(raw, run.tensors.meta["scaler"])
    model = run.forecaster.module
    series = CountSeries(x, counts, model.history_steps)
    warmup = forecast_warmup(model)
    span = forecast_span(model, series, frontier, frontier + PERIOD_BINS, warmup=warmup)
    return {"expected": span.expected, **span.params}


def test_forecast_is_the_models_one_step_forecast_of_the_live_history(
    stream: Stream, run: TrainedRun
) -> None:
    served = stream.service.get("/forecast").json()
    record = live_record(run, stream.known)
    frontier = record.shape[1]
    assert frontier > run.tensors.y.shape[1]  # live incidents moved the period on
    assert served["period"]["start"] == (RUN_START + pd.Timedelta(hours=frontier)).isoformat()
    assert len(served["period"]["bins"]) == PERIOD_BINS
    expected = np.array(served["expected"])
    assert expected.shape == (PERIOD_BINS, 9)
    truth = model_forecast(run, record, expected[:-1])
    np.testing.assert_allclose(expected, truth["expected"], rtol=1e-5, atol=1e-6)
    for name, values in served["params"].items():
        np.testing.assert_allclose(np.array(values), truth[name], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(served["period_total"], expected.sum(axis=0), rtol=1e-12)
    # without the live incidents the model forecasts something else for the same bins
    quiet = record.copy()
    quiet[:, : run.tensors.y.shape[1]] = run.tensors.y
    quiet[:, run.tensors.y.shape[1] :] = 0
    assert (
        np.abs(model_forecast(run, quiet, expected[:-1])["expected"][0] - expected[0]).max() > 1e-3
    )


def test_allocation_and_fairness_equal_the_allocation_module(
    stream: Stream, run: TrainedRun
) -> None:
    expected = np.array(stream.service.get("/forecast").json()["expected"])
    served = stream.service.get("/allocation", policy="proportional", budget=30).json()
    config = run.cfg.allocation.model_copy(update={"policy": "proportional", "budget": 30.0})
    patrol = make_policy(config).allocate(expected, groups_of(run))
    np.testing.assert_allclose(np.array(served["patrol"]), patrol, rtol=1e-9, atol=1e-9)
    assert served["risk"] == "expected"
    np.testing.assert_allclose(np.array(served["patrol"]).sum(axis=1), 30.0, rtol=1e-9)

    fairness = stream.service.get("/fairness", policy="proportional", budget=30).json()
    metrics = allocation_metrics(patrol, expected, groups_of(run), 30.0)
    for name in ("dir", "gini", "coverage", "detection_minority", "detection_gap"):
        assert fairness["metrics"][name]["mean"] == pytest.approx(np.nanmean(metrics[name]))
    minority = groups_of(run).minority
    groups = fairness["groups"]
    assert groups["minority"]["areas"] == int(minority.sum()) == 4
    assert groups["minority"]["patrol_share"] == pytest.approx(
        patrol[:, minority].sum() / patrol.sum()
    )
    assert groups["unknown"]["areas"] == 1
    paper = stream.service.get("/allocation", policy="paper").json()
    assert paper["budget"] == run.cfg.allocation.budget
    assert np.all(np.array(paper["patrol"]).sum(axis=1) <= paper["budget"] + 1e-9)


GOOD = {"id": "g", "occurred_at": "2021-03-20T10:00:00", "lat": 41.757, "lon": -87.743}
MALFORMED = [
    ("unclosed JSON", b'{"incidents": [', 400, "body", None),
    ("not an object", [1, 2], 422, "body", None),
    ("empty batch", {"incidents": []}, 422, "incidents", None),
    ("missing time", {"incidents": [GOOD, {"id": "m", "lat": 41.757, "lon": -87.743}]},
     422, "incidents[1].occurred_at", 1),
    ("bad date", {"incidents": [GOOD | {"occurred_at": "2021-02-30T10:00:00"}]},
     422, "incidents[0].occurred_at", 0),
    ("date only", {"incidents": [GOOD | {"occurred_at": "2021-03-20"}]},
     422, "incidents[0].occurred_at", 0),
    ("time as number", {"incidents": [GOOD | {"occurred_at": 1616234400}]},
     422, "incidents[0].occurred_at", 0),
    ("latitude > 90", {"incidents": [GOOD | {"lat": 91.0}]}, 422, "incidents[0].lat", 0),
    ("text longitude", {"incidents": [GOOD | {"lon": "west"}]}, 422, "incidents[0].lon", 0),
    ("unknown field", {"incidents": [GOOD | {"latitude": 41.7}]},
     422, "incidents[0].latitude", 0),
    ("outside the city", {"incidents": [GOOD | {"lat": 41.0, "lon": -87.0}]},
     422, "incidents[0].lat/lon", 0),
    ("before the run", {"incidents": [GOOD | {"occurred_at": "2020-12-31T23:00:00"}]},
     422, "incidents[0].occurred_at", 0),
    ("in the future", {"incidents": [GOOD | {"occurred_at": "2199-01-01T00:00:00Z"}]},
     422, "incidents[0].occurred_at", 0),
]  # fmt: skip


@pytest.mark.parametrize(("payload", "status", "field", "row"), [c[1:] for c in MALFORMED],
                         ids=[c[0] for c in MALFORMED])  # fmt: skip
def test_malformed_incidents_get_4xx_naming_field_and_row(
    stream: Stream, payload: object, status: int, field: str, row: int | None
) -> None:
    before = stream.service.get("/health").json()
    if isinstance(payload, bytes):
        headers = {"content-type": "application/json"}
        response = stream.service.post("/incidents", content=payload, headers=headers)
    else:
        response = stream.service.post("/incidents", json=payload)
    assert response.status_code == status, response.text
    problem = response.json()["detail"][0]
    assert (problem["field"], problem["row"]) == (field, row)
    assert problem["problem"]
    assert stream.service.get("/health").json() == before  # nothing was stored


@pytest.mark.parametrize(
    ("query", "field"),
    [({"policy": "fastest"}, "policy"), ({"budget": -5}, "budget"), ({"budget": "x"}, "budget"),
     ({"budget": "1_000"}, "budget"), ({"budget": " 5"}, "budget"), ({"budget": "inf"}, "budget")],
)  # fmt: skip
def test_bad_allocation_queries_get_422(stream: Stream, query: dict, field: str) -> None:
    for path in ("/allocation", "/fairness"):
        response = stream.service.get(path, **query)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["field"] == field


def test_mixed_batch_stores_the_good_rows_and_lists_the_bad(stream: Stream) -> None:
    known = {k: v for k, v in stream.known[0].items() if not k.startswith("_")}
    outside = known | {"id": "outside", "lat": 41.0, "lon": -87.0}
    response = stream.service.post("/incidents", json={"incidents": [known, outside]})
    assert response.status_code == 200
    result = response.json()
    assert (result["accepted"], result["duplicates"]) == (0, 1)
    assert [(p["row"], p["id"], p["field"]) for p in result["rejected"]] == [
        (1, "outside", "incidents[1].lat/lon")
    ]


def test_oversized_body_is_413(stream: Stream) -> None:
    response = stream.service.post("/incidents", content=b" " * (16 * 2**20 + 1))
    assert response.status_code == 413
    assert response.json()["detail"][0]["field"] == "body"


def test_live_map_areas_and_openapi(stream: Stream, run: TrainedRun) -> None:
    page = stream.service.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<svg" in page.text and "areas.geojson" in page.text
    for external in ('src="http', "src='http", 'href="http', "@import", "cdn"):
        assert external not in page.text  # one self-contained page
    areas = stream.service.get("/areas.geojson").json()
    assert [f["properties"]["area_id"] for f in areas["features"]] == run.tensors.meta["node_ids"]
    assert [f["properties"]["group"] for f in areas["features"]] == run.tensors.meta["groups"]
    schema = stream.service.get("/openapi.json").json()
    assert {"/incidents", "/forecast", "/allocation", "/fairness", "/health"} <= set(
        schema["paths"]
    )
    incident = schema["components"]["schemas"]["IncidentIn"]
    assert set(incident["required"]) == {"id", "occurred_at", "lat", "lon"}


JSON = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
NEVER_ACCEPTED_TIMES = st.sampled_from(
    ["2020-12-31T23:59:59", "2199-01-01T00:00:00Z", "2021-03-20T25:00:00", "0001-01-01T00:00:00",
     "2021-03-20T10:00:00+99:00", "2021-03-20", ""]
) | st.text(max_size=25) | JSON  # fmt: skip
FUZZ_INCIDENT = st.fixed_dictionaries(
    {"id": st.text(max_size=5) | st.integers(), "occurred_at": NEVER_ACCEPTED_TIMES,
     "lat": st.floats() | st.floats(41.75, 41.79) | JSON, "lon": st.floats() | JSON},
    optional={"type": JSON, "note": JSON},
)  # fmt: skip


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON | st.fixed_dictionaries({"incidents": st.lists(FUZZ_INCIDENT, max_size=4) | JSON}))
def test_no_payload_gets_a_500(stream: Stream, payload: object) -> None:
    content = json.dumps(payload, allow_nan=True)  # NaN and Infinity literals too
    headers = {"content-type": "application/json"}
    response = stream.service.post("/incidents", content=content, headers=headers)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["detail"][0]["problem"]


def test_serve_command_reports_a_bad_period(run: TrainedRun) -> None:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(reports_errors(serve_command))
    result = CliRunner().invoke(app, [str(run.run.root), "--period", "90min"])
    assert result.exit_code == 2, result.output
    assert "error: --period:" in result.output and "Traceback" not in result.output
