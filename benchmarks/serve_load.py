"""Bounded load test of ``fase serve`` on localhost: requests/s and latency per endpoint.

Starts the service in a subprocess on a fresh database (a free localhost port), then,
with ``--clients`` C concurrent HTTP clients (threads, one keep-alive connection each),
sends ``--requests`` N requests per phase and times each one (wall clock, client side):

    POST /incidents        batches of ``--batch`` B new incidents (unique ids, points
                           inside the run's areas, times after the run's data)
    GET /forecast          cached: the history did not change since the first one
    GET /allocation        the run's policy, cached
    GET /fairness          the run's policy, cached
    GET /health
    POST + GET /forecast   one client: a new batch, then the forecast it invalidated
                           (the live cost: a recursive forecast of the whole period)
    GET /forecast during   C readers while one writer posts, without pause, batches
      a POST stream        of late reports (times in the run's last day, so every
                           batch changes the record and invalidates the forecast);
                           the writer's latencies are timed too

Per phase: requests/s (N / phase wall time), mean, p50 and p99 latency (ms), and the
non-2xx count (must be 0). The first GET /forecast after the batches (cold) is timed
alone. The 1-minute load average before and after is recorded: the figures are only
comparable on the same machine under the same load.

Run:  python benchmarks/serve_load.py [--run RUN_DIR] [--requests 200] [--clients 4]
                                      [--period 7d]
      (without --run it trains the quick preset on the embedded Chicago data first;
      writes benchmarks/results/serve.json, or serve-<period>.json with --period)
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import httpx
import numpy as np
import pandas as pd
import shapely

from fase.io import write_json

RESULTS = Path(__file__).parent / "results"
LAUNCH = (  # `fase serve RUN_DIR --port P --db DB --threads 1 --rate-limit 0`
    "import sys; from pathlib import Path; from fase.cli.serve import serve_command; "
    "serve_command(Path(sys.argv[1]), port=int(sys.argv[2]), db=Path(sys.argv[3]), "
    "period=sys.argv[4] or None, threads=1, rate_limit=0)"
)


def quick_run(root: Path) -> Path:
    """Train the quick preset on the embedded Chicago data into ``root/run``."""
    from fase.config import load_config
    from fase.phases.train import train_run

    run_dir = root / "run"
    train_run(load_config(preset="quick"), run_dir, progress=False)
    return run_dir


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_service(
    run_dir: Path, db: Path, period: str | None
) -> tuple[subprocess.Popen[bytes], str]:
    """``fase serve`` on a free port; returns once ``/health`` answers."""
    port = free_port()
    args = [str(run_dir), str(port), str(db), period or ""]
    process = subprocess.Popen([sys.executable, "-c", LAUNCH, *args])
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url, trust_env=False) as client:
        for _ in range(1200):
            if process.poll() is not None:
                raise SystemExit("fase serve exited")
            try:
                if client.get("/health").status_code == 200:
                    return process, url
            except httpx.TransportError:
                time.sleep(0.1)
    process.kill()
    raise SystemExit("fase serve did not start")


def incident_batches(
    run_dir: Path, count: int, size: int, seed: int = 0, late: bool = False, tag: str = "load"
) -> list[dict]:
    """``count`` bodies of ``size`` incidents inside the run's areas, in the 6 hours after
    its last bin (``late``: in the 6 hours before it, late reports of past bins)."""
    areas = gpd.read_file(run_dir / "data" / "areas.geojson")
    bin_start = np.load(run_dir / "data" / "tensors.npz")["bin_start"]
    end = pd.Timestamp(int(bin_start[-1]), unit="ns", tz="UTC") - pd.Timedelta(hours=6 * late)
    rng = np.random.default_rng(seed)
    shapes = areas.geometry.to_numpy()
    bodies = []
    for b in range(count):
        rows = []
        for i in range(size):
            lon, lat = _point_inside(shapes[rng.integers(len(shapes))], rng)
            at = end + pd.Timedelta(minutes=int(rng.integers(0, 6 * 60)))
            rows.append(
                {"id": f"{tag}-{b}-{i}", "occurred_at": at.isoformat(), "lat": lat, "lon": lon}
            )
        bodies.append({"incidents": rows})
    return bodies


def _point_inside(shape: Any, rng: np.random.Generator) -> tuple[float, float]:
    x0, y0, x1, y1 = shape.bounds
    while True:
        lon, lat = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if shape.contains(shapely.Point(lon, lat)):
            return float(lon), float(lat)


def timed_phase(
    url: str, clients: int, requests: list[Callable[[httpx.Client], httpx.Response]]
) -> dict[str, float]:
    """Send ``requests`` from ``clients`` threads; latency statistics and throughput."""
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    queue = iter(requests)

    def worker() -> None:
        nonlocal failures
        with httpx.Client(base_url=url, trust_env=False, timeout=300) as client:
            while True:
                with lock:
                    send = next(queue, None)
                if send is None:
                    return
                start = time.perf_counter()
                response = send(client)
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    failures += not response.is_success

    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    ms = np.array(latencies) * 1e3
    return {
        "requests": len(latencies),
        "clients": clients,
        "requests_per_s": len(latencies) / wall,
        "mean_ms": float(ms.mean()),
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "non_2xx": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a trained run (default: train quick)")
    parser.add_argument("--requests", type=int, default=200, help="requests per phase")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument("--batch", type=int, default=10, help="incidents per POST")
    parser.add_argument("--live", type=int, default=20, help="POST + GET /forecast pairs")
    parser.add_argument("--period", help="forecast period, e.g. 7d (default: the run's)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = args.run or quick_run(Path(tmp))
        bodies = incident_batches(run_dir, args.requests + args.live, args.batch)
        late = incident_batches(run_dir, args.requests, args.batch, late=True, tag="late")
        process, url = start_service(run_dir, Path(tmp) / "load.sqlite", args.period)
        try:
            results = run_phases(url, bodies, late, args)
        finally:
            process.terminate()
            process.wait()
    results.update(
        run=str(args.run or "quick preset, embedded Chicago data"),
        batch=args.batch,
        niceness=os.nice(0),
        load_average_1min={"start": load_before, "end": os.getloadavg()[0]},
        platform=platform.platform(),
        cpu_count=os.cpu_count(),
        python=sys.version.split()[0],
    )
    write_json(RESULTS / (f"serve-{args.period}.json" if args.period else "serve.json"), results)
    print(f"{'phase':<28}{'req/s':>9}{'mean ms':>10}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}")
    for name, row in results["phases"].items():
        print(
            f"{name:<28}{row['requests_per_s']:>9.1f}{row['mean_ms']:>10.1f}"
            f"{row['p50_ms']:>9.1f}{row['p99_ms']:>9.1f}{row['non_2xx']:>9d}"
        )
    during = results["phases"]["GET /forecast during POSTs"]
    print(f"during the POST stream {during['previous_answers']} of {during['requests']} "
          "reads got the previous answer (X-FASE-Record: previous)")  # fmt: skip
    shape = results["period"]
    print(f"{shape['areas']} areas, {shape['bins']} bins per period; "
          f"cold GET /forecast: {results['cold_forecast_ms']:.0f} ms; "
          f"load average {load_before:.1f} → {os.getloadavg()[0]:.1f}")  # fmt: skip


def during_a_post_stream(
    url: str, late: list[dict], args: argparse.Namespace
) -> tuple[dict[str, float], dict[str, float]]:
    """C readers GET /forecast N times while one writer posts late reports until they end."""
    done = threading.Event()
    writes: list[float] = []
    failures = 0

    def writer() -> None:
        nonlocal failures
        with httpx.Client(base_url=url, trust_env=False, timeout=300) as client:
            for body in late:
                if done.is_set():
                    return
                start = time.perf_counter()
                failures += not client.post("/incidents", json=body).is_success
                writes.append(time.perf_counter() - start)

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(0.05)  # the stream is under way
    kinds: list[str] = []

    def read(client: httpx.Client) -> httpx.Response:
        response = client.get("/forecast")
        kinds.append(response.headers.get("X-FASE-Record", "?"))
        return response

    readers = timed_phase(url, args.clients, [read] * args.requests)
    readers["previous_answers"] = kinds.count("previous")
    done.set()
    thread.join()
    ms = np.array(writes) * 1e3
    posts = {
        "requests": len(writes),
        "clients": 1,
        "requests_per_s": float("nan"),
        "mean_ms": float(ms.mean()),
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "non_2xx": failures,
    }
    return readers, posts


def run_phases(
    url: str, bodies: list[dict], late: list[dict], args: argparse.Namespace
) -> dict[str, Any]:
    """Every phase of the module docstring, in order."""
    posts, live = bodies[: args.requests], bodies[args.requests :]
    phases: dict[str, Any] = {}
    phases["POST /incidents"] = timed_phase(
        url, args.clients, [lambda c, b=b: c.post("/incidents", json=b) for b in posts]
    )
    with httpx.Client(base_url=url, trust_env=False, timeout=300) as client:
        start = time.perf_counter()
        response = client.get("/forecast")
        cold = (time.perf_counter() - start) * 1e3
        response.raise_for_status()
        shape = {"areas": len(response.json()["areas"]), "bins": len(response.json()["expected"])}
    for path in ("/forecast", "/allocation", "/fairness", "/health"):
        phases[f"GET {path}"] = timed_phase(
            url, args.clients, [lambda c, p=path: c.get(p)] * args.requests
        )

    def post_then_forecast(client: httpx.Client, body: dict) -> httpx.Response:
        client.post("/incidents", json=body).raise_for_status()
        return client.get("/forecast")

    phases["POST + GET /forecast"] = timed_phase(
        url, 1, [lambda c, b=b: post_then_forecast(c, b) for b in live]
    )
    readers, writer = during_a_post_stream(url, late, args)
    phases["GET /forecast during POSTs"] = readers
    phases["  the POSTs (1 writer)"] = writer
    return {"phases": phases, "cold_forecast_ms": cold, "clients": args.clients, "period": shape}


if __name__ == "__main__":
    main()
