"""Serial vs data-parallel (DDP) training vs loader workers, for FASE and the zoo's networks.

For each model — FASE (default preset) and every registered zoo model trained by the
engine (``NeuralForecaster``: the study's DNN, CrimeNet LSTM and GAT+TCN) — and each
configuration, a fresh process (``torchrun`` for DDP) trains ``--epochs`` epochs on the
first ``--train-windows`` training windows of the embedded Chicago data (default
preset: windows of 32 hourly bins, global batch 32; validation on the first
``--val-windows``), with the same seed:

    serial 1×1      one process, one torch thread, batches gathered in-process
    serial 1×C      one process, C threads (C = --cores, default: this machine's cores)
    DDP P×C/P       torchrun, P processes (--processes) of C/P threads each
    workers W       one process of C threads, W DataLoader worker processes (--workers)

Reported per run: s/epoch (the fastest epoch after the first, and the fastest of
``--repeats`` interleaved passes over the configurations — the one least disturbed by
other jobs on a shared machine; an epoch is the training pass plus the validation
pass, as in ``training_log.csv``), training windows/s
(training windows / s per epoch), the final validation loss (each model's own
objective) and the 1-minute load average before and after the run (other jobs on a
shared machine show up there). Every configuration trains the same global minibatches,
so the losses agree up to float rounding (DDP) or exactly (workers).

    .venv/bin/python benchmarks/parallel.py                       # ~5 min on 2 cores
    .venv/bin/python benchmarks/parallel.py --models fase --processes 1,2,4,8
    .venv/bin/python benchmarks/parallel.py --device cuda --processes 1

Builds the run directory (Phases 1–2, default preset) when missing. Prints a table and
merges it into ``benchmarks/results/parallel.json`` (``--out``) under ``--label``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fase.config import load_config
from fase.config.training import TrainingConfig
from fase.data.tensors import Tensors
from fase.graph import Graph
from fase.io import write_json
from fase.phases.data import run_data_phases
from fase.phases.train import build_fase_model, split_windows
from fase.runtime import configure_threads
from fase.training import CountSeries, SplitWindows, fit
from fase.training.distributed import init_from_env, launched_by_torchrun, shutdown
from fase.training.memory import keep_freed_memory

RESULTS = Path(__file__).parent / "results" / "parallel.json"
SEED = 0
SETTINGS = ("repeats", "epochs", "train_windows", "val_windows", "cores", "processes", "workers")


def zoo_networks() -> list[str]:
    """The registered zoo models that train with the engine (``NeuralForecaster``),
    FASE's own variants excepted (FASE itself is benchmarked as ``fase``)."""
    from fase.forecasters import NeuralForecaster, ZooSettings, available_models, create

    settings = ZooSettings(training=TrainingConfig())
    return [
        name
        for name in available_models()
        if isinstance(model := create(name, settings), NeuralForecaster) and model.family != "fase"
    ]


def build(
    name: str, run_dir: Path, base: TrainingConfig
) -> tuple[torch.nn.Module, CountSeries, SplitWindows, TrainingConfig]:
    """Model ``name`` (seeded), its series, all its windows and its training settings."""
    tensors = Tensors.load(run_dir / "data")
    if name == "fase":
        cfg = load_config()
        cfg = cfg.model_copy(update={"seed": SEED})
        model = build_fase_model(cfg, Graph.load(run_dir / "graph" / "graph.npz"), tensors)
        series = CountSeries(tensors.scaled_x(), tensors.y, model.history_steps)
        return model, series, split_windows(tensors.split, base), base
    from fase.forecasters import ForecastData, ZooSettings, create

    forecaster = create(name, ZooSettings(training=base))
    data = ForecastData.from_run(run_dir)
    torch.manual_seed(SEED)
    model = forecaster.build_module(data)
    series = CountSeries(data.x, data.y.astype(np.float32), model.history_steps)
    return model, series, split_windows(data.split, forecaster.training), forecaster.training


def worker(args: argparse.Namespace) -> None:
    """One configuration (one rank under torchrun): trains each model of ``--models`` in
    turn; rank 0 writes ``{model: result}`` to ``--result``."""
    configure_threads(args.threads)
    keep_freed_memory()
    rank = init_from_env(args.device).rank if launched_by_torchrun() else 0
    base = load_config().training.model_copy(
        update={
            "epochs": args.epochs,
            "early_stopping_patience": None,
            "threads": args.threads,
            "loader_workers": args.loader_workers,
            "device": args.device,
        }
    )
    reports = {}
    for name in args.models.split(","):
        model, series, windows, training = build(name, Path(args.run_dir), base)
        windows = SplitWindows(windows.train[: args.train_windows], windows.val[: args.val_windows])
        with tempfile.TemporaryDirectory(prefix="fase-parallel-") as out:
            result = fit(model, series, windows, training, seed=SEED, out_dir=out, progress=False)
        seconds = [row["seconds"] for row in result.state.log]
        s_per_epoch = min(seconds[1:] or seconds)
        reports[name] = {
            "epoch_seconds": seconds,
            "s_per_epoch": s_per_epoch,
            "s_per_epoch_median": statistics.median(seconds[1:] or seconds),
            "train_windows_per_s": len(windows.train) / s_per_epoch,
            "final_val_loss": result.state.log[-1]["val_loss"],
            "objective": training.objective,
            "parameters": sum(p.numel() for p in model.parameters()),
        }
    if rank == 0:
        Path(args.result).write_text(json.dumps(reports))
    shutdown()


def configurations(cores: int, processes: list[int], workers: list[int]) -> list[dict[str, Any]]:
    """The runs of one model: (label, processes, threads per process, loader workers)."""
    runs = [{"label": "serial 1×1", "processes": 0, "threads": 1, "workers": 0}]
    if cores > 1:
        runs.append({"label": f"serial 1×{cores}", "processes": 0, "threads": cores, "workers": 0})
    for count in processes:
        threads = max(1, cores // count)
        runs.append(
            {
                "label": f"DDP {count}×{threads}",
                "processes": count,
                "threads": threads,
                "workers": 0,
            }
        )
    for count in workers:
        label = f"workers {count} (1×{cores})"
        runs.append({"label": label, "processes": 0, "threads": cores, "workers": count})
    return runs


def launch(models: list[str], run: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Run one configuration for ``models`` in fresh processes; ``{model: result}``."""
    with tempfile.TemporaryDirectory() as scratch:
        result = Path(scratch) / "result.json"
        script = [str(Path(__file__).resolve()), "--worker", "--models", ",".join(models)]
        script += ["--threads", str(run["threads"]), "--loader-workers", str(run["workers"])]
        script += ["--run-dir", str(args.run_dir), "--device", args.device, "--result", str(result)]
        script += ["--epochs", str(args.epochs), "--train-windows", str(args.train_windows)]
        script += ["--val-windows", str(args.val_windows)]
        command = [sys.executable, *script]
        if run["processes"]:
            command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
            command += [f"--nproc-per-node={run['processes']}", *script]
        env = {**os.environ, "OMP_NUM_THREADS": str(run["threads"])}
        load_before = os.getloadavg()[0]
        subprocess.run(command, env=env, check=True)
        load = {"load_before": load_before, "load_after": os.getloadavg()[0]}
        return {model: report | load for model, report in json.loads(result.read_text()).items()}


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| model | configuration | s/epoch | train windows/s | vs serial 1×C | final val loss |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['model']} | {row['label']} | {row['s_per_epoch']:.3f} | "
            f"{row['train_windows_per_s']:.1f} | {row['speedup']:.2f}× | "
            f"{row['final_val_loss']:.6f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", type=Path, default=Path("/tmp/par_run"))
    parser.add_argument("--models", default="", help="comma-separated (default: all)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2, help="passes over the configurations")
    parser.add_argument("--train-windows", type=int, default=128)
    parser.add_argument("--val-windows", type=int, default=32)
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--processes", default="1,2", help="DDP process counts")
    parser.add_argument("--workers", default="1,2", help="loader worker counts")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--label", default="2-core", help="results key (merged into --out)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--loader-workers", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    if not (args.run_dir / "graph" / "graph.npz").is_file():
        run_data_phases(load_config(), args.run_dir)
    models = args.models.split(",") if args.models else ["fase", *zoo_networks()]
    processes = [int(p) for p in args.processes.split(",") if p]
    workers = [int(w) for w in args.workers.split(",") if w]
    started = time.perf_counter()
    runs = configurations(args.cores, processes, workers)
    tries: list[list[dict[str, Any]]] = [[] for _ in runs]  # per configuration: {model: result}
    for _ in range(args.repeats):  # interleaved, so that a busy spell hits every configuration
        for run, results in zip(runs, tries, strict=True):
            results.append(launch(models, run, args))
            for model, result in results[-1].items():
                print(f"{model:10s} {run['label']:22s} {result['s_per_epoch']:.3f} s/epoch")
    rows = []
    for model in models:
        model_rows = []
        for run, results in zip(runs, tries, strict=True):
            best = min((r[model] for r in results), key=lambda r: r["s_per_epoch"])
            tried = [r[model]["s_per_epoch"] for r in results]
            model_rows.append({"model": model, **run, **best, "s_per_epoch_tries": tried})
        baseline = next(
            (r["s_per_epoch"] for r in model_rows if r["label"] == f"serial 1×{args.cores}"),
            model_rows[0]["s_per_epoch"],
        )
        rows += [row | {"speedup": baseline / row["s_per_epoch"]} for row in model_rows]
    table = markdown(rows)
    print("\n" + table)
    machine = {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "device": args.device,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    settings = {name: getattr(args, name) for name in SETTINGS}
    results: dict[str, Any] = {}
    with contextlib.suppress(FileNotFoundError):
        results = json.loads(args.out.read_text())
    results[args.label] = {"machine": machine, "settings": settings, "runs": rows, "table": table}
    results[args.label]["wall_seconds"] = time.perf_counter() - started
    write_json(args.out, results)


if __name__ == "__main__":
    main()
