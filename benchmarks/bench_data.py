"""Phase 1–2 throughput: ingest → spatial join → tensors → graph.

Synthetic cities (uniform random incidents over a grid of square areas, 3 years of
hourly bins) at 1 M and 10 M incidents, plus the embedded Chicago data. CSV
generation is not timed; everything from reading the CSV to writing the artefacts is.

    .venv/bin/python benchmarks/bench_data.py            # 1 M, 10 M and embedded
    .venv/bin/python benchmarks/bench_data.py --sizes 1000000

Prints a table and writes ``benchmarks/results/data.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import box

from fase.config import load_config
from fase.phases.data import run_data_phases

ORIGIN = (440_000.0, 4_630_000.0)  # UTM 16N
CRS = "EPSG:32616"
SIDE = 1000.0  # m, side of a square area


def synthetic_city(
    root: Path, n_incidents: int, n_cols: int = 20, n_rows: int = 10, seed: int = 0
) -> Path:
    """Write polygons, demographics and an incident CSV; return a config JSON path."""
    rng = np.random.default_rng(seed)
    write_areas(root, n_cols, n_rows, rng)
    csv = root / "incidents.csv"
    with open(csv, "w", encoding="utf-8") as handle:
        handle.write("CrimeDateTime,Latitude,Longitude,Description\n")
        for batch in incident_batches(n_incidents, rng, n_cols, n_rows):
            batch["time"] = batch["time"].dt.strftime("%Y-%m-%d %H:%M:%S")
            batch.to_csv(handle, header=False, index=False)
    return city_config(root, n_incidents, str(csv))


def write_areas(root: Path, n_cols: int, n_rows: int, rng: np.random.Generator) -> None:
    """``areas.geojson``: a grid of n_cols × n_rows 1 km squares with random demographics."""
    cells = [
        {
            "area": r * n_cols + c + 1,
            "geometry": box(
                ORIGIN[0] + c * SIDE,
                ORIGIN[1] + r * SIDE,
                ORIGIN[0] + (c + 1) * SIDE,
                ORIGIN[1] + (r + 1) * SIDE,
            ),
        }
        for r in range(n_rows)
        for c in range(n_cols)
    ]
    areas = gpd.GeoDataFrame(cells, crs=CRS).to_crs("EPSG:4326")
    n = len(cells)
    areas["black_pct"] = rng.uniform(0, 100, n)
    areas["income"] = rng.uniform(15_000, 120_000, n)
    areas["poverty_pct"] = rng.uniform(0, 40, n)
    areas.to_file(root / "areas.geojson", driver="GeoJSON")


def incident_batches(
    n_incidents: int,
    rng: np.random.Generator,
    n_cols: int,
    n_rows: int,
    batch_rows: int = 2_000_000,
) -> Iterator[pd.DataFrame]:
    """Uniform random incidents over the grid in 2016–2018, ``batch_rows`` at a time: columns
    ``time`` (naive local datetime64, whole minutes), ``lat``, ``lon`` (degrees, 6 decimals)
    and ``type`` (``THEFT``)."""
    start = pd.Timestamp("2016-01-01").value
    span = pd.Timestamp("2019-01-01").value - start
    for offset in range(0, n_incidents, batch_rows):
        m = min(batch_rows, n_incidents - offset)
        x = ORIGIN[0] + rng.uniform(0, n_cols * SIDE, m)
        y = ORIGIN[1] + rng.uniform(0, n_rows * SIDE, m)
        pts = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=CRS).to_crs("EPSG:4326")
        times = pd.to_datetime(start + rng.integers(0, span, m) // 60_000_000_000 * 60_000_000_000)
        yield pd.DataFrame(
            {"time": times, "lat": pts.y.round(6), "lon": pts.x.round(6), "type": "THEFT"}
        )


def city_config(root: Path, n_incidents: int, incidents: str, **fields: object) -> Path:
    """``config.json`` for the synthetic city with the given incident source."""
    config = {
        "dataset": {
            "name": f"synthetic-{n_incidents}",
            "timezone": "America/Chicago",
            "calendar": {"start": "2016-01-01", "end": "2019-01-01"},
            "incidents": {"path": incidents, "format": "fase_processed", **fields},
            "areas": {"path": str(root / "areas.geojson"), "id_column": "area"},
            "demographics": {
                "id_column": "area",
                "black_share": "black_pct",
                "share_scale": 100,
                "income": "income",
                "poverty_share": "poverty_pct",
            },
        }
    }
    path = root / "config.json"
    path.write_text(json.dumps(config))
    return path


def timed_run(cfg, out: Path) -> dict[str, float]:
    """Wall time of each step, from the pipeline's own progress messages."""
    marks: list[tuple[str, float]] = []
    start = time.perf_counter()
    result = run_data_phases(
        cfg, out, progress=lambda msg: marks.append((msg, time.perf_counter()))
    )
    total = time.perf_counter() - start
    steps: dict[str, float] = {}
    for (name, t0), (_, t1) in zip(marks, [*marks[1:], ("end", start + total)], strict=True):
        steps[name] = round(t1 - t0, 3)
    return {
        "total_s": round(total, 3),
        **steps,
        "nodes": result.graph.A_geo.shape[0],
        "bins": int(result.phase1.tensors.y.shape[1]),
        "incidents_assigned": int(result.phase1.tensors.y.sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000_000, 10_000_000])
    parser.add_argument("--no-embedded", action="store_true")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if not args.no_embedded:
            row = timed_run(load_config(), root / "run-embedded")
            results.append({"case": "embedded Chicago (321,877 rows, 77 areas, 2 y hourly)", **row})
            print(results[-1], file=sys.stderr)
        for size in args.sizes:
            city = root / f"city{size}"
            city.mkdir()
            config = synthetic_city(city, size)
            row = timed_run(load_config(config_path=config), city / "run")
            results.append({"case": f"synthetic {size:,} incidents, 200 areas, 3 y hourly", **row})
            print(results[-1], file=sys.stderr)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    keys = [
        "total_s",
        "opening incidents",
        "loading areas",
        "reading, assigning and binning incidents",
        "demographics",
        "features",
        "writing artefacts",
        "building the hybrid graph",
    ]
    print("| case | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for row in results:
        print(
            f"| {row['case']} | "
            + " | ".join(f"{row.get(k, float('nan')):.2f}" for k in keys)
            + " |"
        )
    print(f"\npeak RSS {peak_mb:,.0f} MB (whole process)")
    out = Path(__file__).parent / "results" / "data.json"
    out.write_text(json.dumps({"results": results, "peak_rss_mb": peak_mb}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
