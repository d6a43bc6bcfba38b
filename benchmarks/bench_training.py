"""Training throughput on the paper's shapes, and default vs paper on embedded Chicago.

Throughput (default, ~2 min): synthetic data with the paper's shapes — 25 nodes,
26,280 hourly bins split 18,396 / 3,942 / 3,942, 13 features, 83 % zero counts — so
574 training windows of 32 steps, batches of 32, the paper's architecture (108,309
parameters) and training settings, 2 threads. Reports s/epoch (train + validation, as
the reference's loop) against the reference code's 7.5 s/epoch on the same 2-core
machine, and training windows/s. The default model (self-excitation, 168 bins of
carried history) is timed on the same shapes for comparison.

Chicago (``--chicago``, long: two full trainings): the paper and default presets on the
embedded data; the wall time the default preset needs to reach the paper preset's best
validation NLL, and both presets' test NLL (window-wise, and on the full-sequence
forecast via ``fase evaluate``).

    .venv/bin/python benchmarks/bench_training.py
    .venv/bin/python benchmarks/bench_training.py --chicago

Prints a table and writes (merges into) ``benchmarks/results/training.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fase.config import load_config
from fase.config.model import ModelConfig
from fase.config.training import TrainingConfig
from fase.data.tensors import Tensors
from fase.graph import Graph
from fase.models.fase import FASEModel
from fase.phases.data import run_data_phases
from fase.phases.evaluate import evaluate_run
from fase.phases.train import build_fase_model, load_run_config, split_windows, train_run
from fase.runtime import configure_threads
from fase.training import (
    CountSeries,
    evaluate_loss,
    fit,
    load_checkpoint,
    train_epoch,
    window_starts,
)
from fase.training.engine import SplitWindows
from fase.training.memory import keep_freed_memory

RESULTS = Path(__file__).parent / "results" / "training.json"
REFERENCE_S_PER_EPOCH = 7.5  # the reference code on this 2-core machine, same shapes
SPLIT = {"train": (0, 18_396), "val": (18_396, 22_338), "test": (22_338, 26_280)}
NODES, FEATURES = 25, 13


def paper_shaped_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray, torch.Tensor, torch.Tensor]:
    """x (25, 26280, 13) N(0, 1); y Poisson(0.186) (83 % zeros); a 25-node hybrid graph."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(NODES, SPLIT["test"][1], FEATURES)).astype(np.float32)
    y = rng.poisson(0.186, size=(NODES, SPLIT["test"][1])).astype(np.int32)
    upper = np.triu(rng.random((NODES, NODES)) < 0.18, k=1)
    a_geo = (upper | upper.T).astype(np.float32)
    similarity = rng.random((NODES, NODES))
    a_feat = np.where((similarity + similarity.T) / 2 >= 0.5, 1.0, 0.0)
    np.fill_diagonal(a_feat, 0.0)
    combined = 0.6 * a_geo / np.maximum(a_geo.sum(1, keepdims=True), 1) + 0.4 * a_feat
    np.fill_diagonal(combined, 1.0)
    return x, y, torch.tensor(combined, dtype=torch.float32), torch.tensor(a_geo)


def time_paper_shapes(model_config: ModelConfig, epochs: int, threads: int) -> dict[str, Any]:
    """s/epoch of :func:`fit` (median over epochs 2..) and training windows/s."""
    x, y, combined, a_geo = paper_shaped_data()
    torch.manual_seed(42)
    model = FASEModel.from_graph(
        combined, a_geo, model_config, num_features=FEATURES, hawkes_window_bins=168
    )
    config = TrainingConfig(
        epochs=epochs,
        early_stopping_patience=None,
        test_checkpoint="last",
        loss_reduction="batch_mean",
        threads=threads,
    )
    starts = {k: window_starts(*v, config.window, config.stride) for k, v in SPLIT.items()}
    windows = SplitWindows(starts["train"], starts["val"])
    series = CountSeries(x, y, model.history_steps)
    with tempfile.TemporaryDirectory() as out:
        result = fit(model, series, windows, config, seed=42, out_dir=out, progress=False)
    epoch_seconds = [row["seconds"] for row in result.state.log]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(0)
    train_seconds = []
    for _ in range(2):
        started = time.perf_counter()
        train_epoch(
            model,
            series,
            starts["train"],
            optimizer,
            window=32,
            batch_size=32,
            generator=generator,
            grad_clip=5.0,
        )
        train_seconds.append(time.perf_counter() - started)
    s_per_epoch = statistics.median(epoch_seconds[1:] or epoch_seconds)
    return {
        "train_windows": len(starts["train"]),
        "val_windows": len(starts["val"]),
        "parameters": sum(p.numel() for p in model.parameters()),
        "epoch_seconds": epoch_seconds,
        "s_per_epoch": s_per_epoch,
        "s_per_epoch_min": min(epoch_seconds),
        "train_windows_per_s": len(starts["train"]) / min(train_seconds),
        "speedup_vs_reference": REFERENCE_S_PER_EPOCH / s_per_epoch,
    }


def train_preset(preset: str, root: Path) -> dict[str, Any]:
    """Phases 1–3 and the evaluation of one preset on embedded Chicago, with timings.

    Training time is the sum of the logged epoch times (``training_log.csv``), so a run
    that was interrupted and resumed from ``last.pt`` is timed like an uninterrupted one.
    """
    run_dir = root / preset
    resume = (run_dir / "checkpoints" / "last.pt").is_file()
    cfg = load_run_config(run_dir) if resume else load_config(preset=preset)
    if not resume:
        run_data_phases(cfg, run_dir)
    run = train_run(cfg, run_dir, resume=resume, progress=False)
    report = evaluate_run(run_dir)
    state = run.fit.state
    elapsed = np.cumsum([row["seconds"] for row in state.log])
    curve = [
        (row["epoch"], row["val_loss"], float(t)) for row, t in zip(state.log, elapsed, strict=True)
    ]
    return {
        "resumed": resume,
        "train_seconds": float(elapsed[-1]),
        "epochs": state.epoch,
        "stopped_early": state.stopped,
        "best_epoch": state.best_epoch,
        "best_val_nll": state.best_val_loss,
        "scored_checkpoint": run.fit.scored_checkpoint,
        "test_nll_windows": run.fit.test_loss,
        "test_nll_forecast": report["overall"]["counts"]["nll"],
        "test_mae_forecast": report["overall"]["counts"]["mae"],
        "s_per_epoch": run.fit.seconds_per_epoch,
        "curve": curve,
        "run_dir": str(run_dir),
    }


def element_mean_val_nll(run_dir: Path) -> float:
    """Validation NLL of a run's best checkpoint as an element mean (the default's measure)."""
    cfg = load_run_config(run_dir)
    tensors = Tensors.load(run_dir / "data")
    model = build_fase_model(cfg, Graph.load(run_dir / "graph" / "graph.npz"), tensors)
    model.load_state_dict(load_checkpoint(run_dir / "checkpoints" / "best.pt")["model"])
    series = CountSeries(tensors.scaled_x(), tensors.y, model.history_steps)
    windows = split_windows(tensors.split, cfg.training)
    return evaluate_loss(
        model, series, windows.val, window=cfg.training.window, batch_size=cfg.training.batch_size
    )


def chicago(root: Path) -> dict[str, Any]:
    paper = train_preset("paper", root)
    default = train_preset("default", root)
    # the paper logs batch means; compare element means, as the default logs
    paper["best_val_nll_element_mean"] = target = element_mean_val_nll(root / "paper")
    reached = next(((e, s) for e, v, s in default["curve"] if v <= target), None)
    y_paper = Tensors.load(root / "paper" / "data").y
    y_default = Tensors.load(root / "default" / "data").y
    same = y_paper.shape == y_default.shape
    return {
        "paper": paper,
        "default": default,
        "default_reaches_paper_best_val": {
            "target_val_nll": target,
            "epoch": reached[0] if reached else None,
            "seconds": reached[1] if reached else None,
            "paper_seconds_to_its_best": paper["curve"][paper["best_epoch"] - 1][2],
        },
        "same_count_tensor": bool(same and np.array_equal(y_paper, y_default)),
        "count_cells_differing": int(np.sum(y_paper != y_default)) if same else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5, help="epochs timed on the paper shapes")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--chicago", action="store_true", help="also train both presets on Chicago")
    parser.add_argument("--no-throughput", action="store_true", help="skip the paper-shape timing")
    parser.add_argument(
        "--keep", type=Path, help="Chicago run directories here (resumed if interrupted)"
    )
    args = parser.parse_args()
    configure_threads(args.threads)
    keep_freed_memory()
    paper_model = ModelConfig(
        hawkes_self_excitation=False, hawkes_history="restart", likelihood_eps=1e-6
    )
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results["machine"] = {"threads": args.threads, "torch": torch.__version__}
    if not args.no_throughput:
        results["paper_shapes"] = {
            "paper_model": time_paper_shapes(paper_model, args.epochs, args.threads),
            "default_model": time_paper_shapes(
                ModelConfig(), max(2, args.epochs - 2), args.threads
            ),
            "reference_s_per_epoch": REFERENCE_S_PER_EPOCH,
        }
    if args.chicago:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            results["chicago"] = chicago(args.keep)
        else:
            with tempfile.TemporaryDirectory() as root:
                results["chicago"] = chicago(Path(root))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)


def print_table(results: dict[str, Any]) -> None:
    shapes = results.get("paper_shapes", {})
    print(
        "| paper shapes (574 windows, batch 32) | s/epoch (median) | s/epoch (min) "
        "| train windows/s | vs reference (median) |"
    )
    print("|---|---|---|---|---|")
    print(f"| reference code | {REFERENCE_S_PER_EPOCH:.2f} | – | – | 1.00× |")
    for name in ("paper_model", "default_model"):
        if name not in shapes:
            continue
        row = shapes[name]
        print(
            f"| fase, {name.replace('_', ' ')} | {row['s_per_epoch']:.2f} | "
            f"{row.get('s_per_epoch_min', math.nan):.2f} | {row['train_windows_per_s']:.0f} | "
            f"{row['speedup_vs_reference']:.2f}× |"
        )
    if "chicago" not in results:
        return
    chi = results["chicago"]
    print(
        "\n| Chicago | epochs | best epoch | best val NLL | test NLL (windows) | "
        "test NLL (forecast) | s/epoch | train s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for preset in ("paper", "default"):
        r = chi[preset]
        print(
            f"| {preset} | {r['epochs']} | {r['best_epoch']} | {r['best_val_nll']:.4f} | "
            f"{r['test_nll_windows']:.4f} | {r['test_nll_forecast']:.4f} | "
            f"{r['s_per_epoch']:.2f} | {r['train_seconds']:.0f} |"
        )
    reach = chi["default_reaches_paper_best_val"]
    print(
        f"\ndefault reaches the paper's best val NLL (element mean) "
        f"{reach['target_val_nll']:.4f} at epoch {reach['epoch']} after {reach['seconds']} s "
        f"(paper: its best after "
        f"{reach['paper_seconds_to_its_best']:.0f} s)"
    )


if __name__ == "__main__":
    main()
