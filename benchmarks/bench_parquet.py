"""Phase 1 from a partitioned Parquet dataset at scale: time and peak memory.

The synthetic city of ``bench_data.py`` (200 areas of 1 km², uniform incidents over
2016–2018, hourly bins: 26,304), its incidents written in 2 M-row pieces (so generation
is bounded too) as a Parquet dataset partitioned by ``year=/month=`` (typed naive
timestamps by default; ``--times text`` writes the CSV's text instead). Generation is not
timed. Ingestion — read, clean, de-duplicate, assign to areas, bin, features, i.e.
:func:`fase.data.pipeline.build_dataset` — runs in a fresh (spawned) process, so that
its memory is its own: the peak resident set size of each step (``/proc/self/statm``
sampled every 10 ms, which counts Arrow's buffers, unlike tracemalloc) and of the whole
process (``getrusage``). The dataset takes about 28 MB per million incidents on disk.

    .venv/bin/python benchmarks/bench_parquet.py                       # 50 M incidents
    .venv/bin/python benchmarks/bench_parquet.py --incidents 1000000   # quick check
    .venv/bin/python benchmarks/bench_parquet.py --incidents 1000000 --batch-rows 1000000 250000
    .venv/bin/python benchmarks/bench_parquet.py --incidents 1000000 --csv   # CSV of the same rows

Prints a table and writes ``benchmarks/results/parquet.json``.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import platform
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench_data import city_config, incident_batches, write_areas
from fase.config import load_config
from fase.data.pipeline import build_dataset
from fase.io import write_json

GRID = (20, 10)  # areas: columns x rows of 1 km squares
RESULTS = Path(__file__).parent / "results" / "parquet.json"
INGESTION = "reading, assigning and binning incidents"  # build_dataset's streaming step


def write_city(root: Path, n_incidents: int, times: str, csv: bool) -> dict[str, Path]:
    """Areas (with demographics), a year/month-partitioned incident dataset and, with
    ``csv``, the same incidents as the CSV of ``bench_data.py``: {storage: path}."""
    rng = np.random.default_rng(0)
    write_areas(root, *GRID, rng)
    sources = {"parquet": root / "incidents"}
    if csv:
        sources["csv"] = root / "incidents.csv"
        sources["csv"].write_text("CrimeDateTime,Latitude,Longitude,Description\n")
    for piece in incident_batches(n_incidents, rng, *GRID):
        piece.columns = ["CrimeDateTime", "Latitude", "Longitude", "Description"]
        stamps = piece["CrimeDateTime"]
        text = stamps.dt.strftime("%Y-%m-%d %H:%M:%S") if csv or times == "text" else None
        if csv:
            with open(sources["csv"], "a", encoding="utf-8") as handle:
                piece.assign(CrimeDateTime=text).to_csv(handle, header=False, index=False)
        piece["year"], piece["month"] = stamps.dt.year, stamps.dt.month
        if times == "text":
            piece["CrimeDateTime"] = text
        table = pa.Table.from_pandas(piece, preserve_index=False)
        pq.write_to_dataset(table, sources["parquet"], partition_cols=["year", "month"])
    return sources


class RssSampler(threading.Thread):
    """Samples this process's resident set size every ``interval`` s (``/proc/self/statm``);
    :meth:`step` returns the peak since the previous call (MB)."""

    def __init__(self, interval: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.interval, self.peak, self.done = interval, current_rss_mb(), False

    def run(self) -> None:
        while not self.done:
            self.peak = max(self.peak, current_rss_mb())
            time.sleep(self.interval)

    def step(self) -> float:
        now = current_rss_mb()
        peak, self.peak = max(self.peak, now), now
        return round(peak, 1)


def current_rss_mb() -> float:
    """Resident set size of this process now (MB)."""
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2**20


def ingest(config: str, report: Any) -> None:
    """Child process: Phase 1 on ``config``; sends timings and memory through ``report``."""
    cfg = load_config(config_path=config)
    sampler = RssSampler()
    sampler.start()
    before = round(current_rss_mb(), 1)
    marks: list[tuple[str, float]] = []
    peaks: list[float] = []

    def progress(step: str) -> None:
        marks.append((step, time.perf_counter()))
        peaks.append(sampler.step())

    start = time.perf_counter()
    result = build_dataset(cfg, progress=progress)
    end = time.perf_counter()
    peaks = [*peaks[1:], sampler.step()]  # each step's peak, read when the next one starts
    sampler.done = True
    ends = [t for _, t in marks[1:]] + [end]
    steps = {name: round(t1 - t0, 3) for (name, t0), t1 in zip(marks, ends, strict=True)}
    step_peaks = dict(zip(steps, peaks, strict=True))
    summary = result.incidents
    report.send(
        {
            "total_s": round(end - start, 3),
            "steps_s": steps,
            "peak_rss_mb_by_step": step_peaks,
            "rows_read": summary.rows_read,
            "loaded": summary.loaded,
            "assigned": int(result.tensors.y.sum()),
            "tensor_shape": list(result.tensors.y.shape),
            "rss_before_mb": before,
            "peak_rss_ingestion_mb": step_peaks[INGESTION],
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
    )


def measure(config: Path) -> dict[str, Any]:
    """Run :func:`ingest` in a spawned process and return what it reported."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=ingest, args=(str(config), send))
    child.start()
    row = receive.recv()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"ingestion failed with exit code {child.exitcode}")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--incidents", type=int, nargs="+", default=[50_000_000])
    parser.add_argument("--batch-rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--times", choices=["timestamp", "text"], default="timestamp")
    parser.add_argument("--tmp", type=Path, default=None, help="where to write the dataset")
    parser.add_argument("--csv", action="store_true", help="also ingest the same rows as CSV")
    args = parser.parse_args()
    if args.tmp is not None:
        args.tmp.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in args.incidents:
        with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
            root = Path(tmp)
            start = time.perf_counter()
            sources = write_city(root, n, args.times, args.csv)
            generated = time.perf_counter() - start
            runs = itertools.product(sources.items(), args.batch_rows)
            for (storage, source), batch_rows in runs:
                files = list(source.rglob("*.parquet")) if source.is_dir() else [source]
                config = city_config(root, n, str(source), batch_rows=batch_rows)
                row = {
                    "incidents": n,
                    "storage": storage,
                    "times": "text" if storage == "csv" else args.times,
                    "batch_rows": batch_rows,
                    "files": len(files),
                    "dataset_mb": round(sum(f.stat().st_size for f in files) / 2**20, 1),
                    "generation_s": round(generated, 1),
                    **measure(config),
                }
                row["ingestion_incidents_per_s"] = round(n / row["steps_s"][INGESTION])
                rows.append(row)
                print(row, file=sys.stderr)
    print(
        "| incidents | storage | files | MB | batch rows | ingestion s | incidents/s "
        "| Phase 1 s | RSS before MB | peak RSS ingestion MB | peak RSS Phase 1 MB |"
    )
    print("|---" * 11 + "|")
    for row in rows:
        print(
            f"| {row['incidents']:,} | {row['storage']} ({row['times']} times) | {row['files']} "
            f"| {row['dataset_mb']:,.0f} "
            f"| {row['batch_rows']:,} | {row['steps_s'][INGESTION]:.1f} "
            f"| {row['ingestion_incidents_per_s']:,} | {row['total_s']:.1f} "
            f"| {row['rss_before_mb']:,.0f} | {row['peak_rss_ingestion_mb']:,.0f} "
            f"| {row['peak_rss_mb']:,.0f} |"
        )
    machine = {
        "platform": platform.platform(),
        "cpus": multiprocessing.cpu_count(),
        "python": platform.python_version(),
        "pyarrow": pa.__version__,
    }
    write_json(RESULTS, {"machine": machine, "results": rows})
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
