"""The service's parts without HTTP: the extended DST-safe time axis, the SQLite store,
and ``fase serve``'s refusal of unusable inputs."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import typer
from typer.testing import CliRunner

from fase.cli import reports_errors
from fase.cli.serve import serve_command
from fase.data.bins import make_grid
from fase.errors import FaseInputError
from fase.serve.schemas import IncidentIn
from fase.serve.storage import IncidentStore, StoredIncident
from fase.serve.timeline import LiveTimeline

CHICAGO = "America/Chicago"


def chicago_run_bins(first: str, last: str) -> np.ndarray:
    """(T,) hourly bin starts of a run over local days [first, last)."""
    grid = make_grid(
        dt.date.fromisoformat(first), dt.date.fromisoformat(last), pd.Timedelta("1h"), CHICAGO
    )
    return grid.edges[:-1]


def utc(text: str) -> int:
    return int(pd.Timestamp(text).as_unit("ns").value)


def test_extended_bins_continue_the_dst_safe_grid() -> None:
    run = chicago_run_bins("2021-11-01", "2021-11-06")
    timeline = LiveTimeline.extend(run, pd.Timedelta("1h"), CHICAGO, lead=pd.Timedelta(days=3))
    assert timeline.run_bins == 5 * 24
    np.testing.assert_array_equal(timeline.grid.edges[: run.size], run)
    days = timeline.starts.normalize()
    per_day = pd.Series(1, index=days).groupby(level=0).sum()
    assert per_day[pd.Timestamp("2021-11-07", tz=CHICAGO)] == 25  # fall back
    assert per_day[pd.Timestamp("2021-11-08", tz=CHICAGO)] == 24
    assert np.all(np.diff(timeline.grid.edges) == 3600 * 10**9)  # absolute hours


def test_naive_times_are_local_wall_time_read_like_the_incident_readers() -> None:
    timeline = LiveTimeline.extend(
        chicago_run_bins("2021-03-10", "2021-03-12"), pd.Timedelta("1h"), CHICAGO
    )
    times = [
        IncidentIn(id="a", occurred_at=text, lat=0, lon=0).occurred_at
        for text in (
            "2021-11-07 01:30:00",  # fall-back hour: the first (daylight-time) occurrence
            "2021-11-07T01:30:00-06:00",  # the second one, given explicitly
            "2021-03-14 02:30:00",  # spring-forward gap: shifted to 03:00 CDT
            "2021-03-14T08:00:00Z",
        )
    ]
    ns = timeline.to_utc_ns(times)
    assert list(ns) == [
        utc("2021-11-07 06:30"),
        utc("2021-11-07 07:30"),
        utc("2021-03-14 08:00"),
        utc("2021-03-14 08:00"),
    ]
    bins = timeline.assign(ns)
    assert bins[1] == bins[0] + 1
    assert bins[2] == bins[3]
    assert timeline.iso([bins[2]]) == ["2021-03-14T03:00:00-05:00"]
    assert timeline.assign(np.array([utc("2021-03-09 23:00")]))[0] == -1  # before the run


def test_run_bins_off_the_grid_are_refused() -> None:
    shifted = chicago_run_bins("2021-03-10", "2021-03-12") + 30 * 60 * 10**9
    with pytest.raises(FaseInputError, match="not the 0 days 01:00:00 bins"):
        LiveTimeline.extend(shifted, pd.Timedelta("1h"), CHICAGO)


def incident(name: str, area: int = 0, bin_: int = 5) -> StoredIncident:
    return StoredIncident(name, 10**18, 41.8, -87.7, None, area, bin_)


def test_store_is_idempotent_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "live.sqlite"
    store = IncidentStore(path, {"run": 1})
    fresh = store.insert([incident("a"), incident("b", 2, 7), incident("a", 1, 1)])
    assert fresh.tolist() == [True, True, False]  # a repeated id in one batch is a duplicate
    assert store.insert([incident("b"), incident("c", 2, 7)]).tolist() == [False, True]
    del store  # no close(): as after kill -9, only committed transactions count
    again = IncidentStore(path, {"run": 1})
    assert again.count() == 3
    area, bins, count = again.cell_counts()
    assert sorted(zip(area.tolist(), bins.tolist(), count.tolist(), strict=True)) == [
        (0, 5, 1),
        (2, 7, 2),
    ]
    assert again._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert again._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    again.close()


def test_store_of_another_run_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "live.sqlite"
    IncidentStore(path, {"run": 1}).close()
    with pytest.raises(FaseInputError, match="another run"):
        IncidentStore(path, {"run": 2})
    path.with_name("junk.sqlite").write_bytes(b"not a database" * 100)
    with pytest.raises(FaseInputError, match="not a usable SQLite database"):
        IncidentStore(path.with_name("junk.sqlite"), {"run": 1})


def test_store_rows_are_the_stored_incident_fields(tmp_path: Path) -> None:
    path = tmp_path / "live.sqlite"
    store = IncidentStore(path, {})
    store.insert([StoredIncident("x", 123, 41.5, -87.5, "THEFT", 3, 9)])
    store.close()
    with sqlite3.connect(path) as db:
        row = db.execute(
            "SELECT id, occurred_at_ns, lat, lon, crime_type, area, bin FROM incidents"
        )
        assert row.fetchall() == [("x", 123, 41.5, -87.5, "THEFT", 3, 9)]


def test_serve_command_reports_unusable_inputs(tmp_path: Path) -> None:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(reports_errors(serve_command))
    result = CliRunner().invoke(app, [str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert "error:" in result.output and "Traceback" not in result.output


def test_a_reader_gets_the_previous_answer_rather_than_wait_behind_a_computation(
    tmp_path: Path,
) -> None:
    """While the compute lock is taken (another reader computing), a reader whose answer
    is stale gets the last one built, marked not current; once free, the current one."""
    from tests.helpers.city import cell_center
    from tests.simulation.trained_run import write_trained_run

    from fase.serve.schemas import HealthOut
    from fase.serve.state import LiveState

    state = LiveState.open(write_trained_run(tmp_path), tmp_path / "live.sqlite", "1d", quorum=1)

    def build(view: object) -> HealthOut:
        stored = view.incidents_stored  # type: ignore[attr-defined]
        return HealthOut(status="ok", run="r", areas=9, incidents_stored=stored,
                         incidents_pending=0, next_period_start="")  # fmt: skip

    try:
        first = state.answer("k", build)
        assert first.current and b'"incidents_stored":0' in first.body
        lon, lat = cell_center(3)
        row = IncidentIn(id="a", occurred_at="2021-03-20T10:00:00Z", lat=lat, lon=lon)
        assert state.ingest([row], utc("2026-01-01")).accepted == 1
        with state._compute_lock:
            assert state.answer("k", build) == type(first)(first.body, current=False)
        fresh = state.answer("k", build)
        assert fresh.current and b'"incidents_stored":1' in fresh.body
    finally:
        state.close()


def test_serve_refuses_a_device_this_machine_lacks(tmp_path: Path) -> None:
    from tests.simulation.trained_run import write_trained_run

    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(reports_errors(serve_command))
    run_dir = write_trained_run(tmp_path)
    result = CliRunner().invoke(app, [str(run_dir), "--device", "tpu"])
    assert result.exit_code == 2 and "error: --device: unknown device 'tpu'" in result.output
    if not torch.cuda.is_available():
        result = CliRunner().invoke(app, [str(run_dir), "--device", "cuda"])
        assert result.exit_code == 2 and "torch sees no GPU" in result.output


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_the_service_forecasts_on_the_gpu_as_on_the_cpu(tmp_path: Path) -> None:
    from tests.simulation.trained_run import write_trained_run

    from fase.serve.state import LiveState

    run_dir = write_trained_run(tmp_path)
    forecasts = []
    for device in ("cpu", "cuda"):
        state = LiveState.open(run_dir, tmp_path / f"{device}.sqlite", "1d", device=device)
        try:
            assert next(state.forecaster.module.parameters()).device.type == device
            forecasts.append(state.forecast(state.view()).expected)
        finally:
            state.close()
    np.testing.assert_allclose(forecasts[1], forecasts[0], rtol=1e-4, atol=1e-6)
