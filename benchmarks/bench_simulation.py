"""Benchmark of the feedback simulator on the paper's shapes.

Paper mode, as the reference runs it: N = 25 areas (14 minority, 11 majority), a
3,942-bin hourly test window, the FASE paper architecture (108,309 parameters, Hawkes
history restarting per window, reference loss clamps), the paper LP on μ (closed form),
expected-value detection, and retraining on the 61 non-overlapping 64-bin windows with
batch = 1 window, a fresh Adam per cycle, dropout on, gradient clipping 5.

Timed: one full-window forward pass, the allocation of the window, one retraining
epoch (61 optimiser steps), one whole cycle with 5 and with 15 epochs, and (``--full``)
the paper's 6 cycles × 50 epochs. The reference code took 22 s for one cycle with 5
epochs and 98 s for one cycle with 15 (6.4 s of which allocation), on a GPU. Counts and
graph are synthetic (Baltimore-like: mean 0.21 incidents per area-hour); the work per
cycle does not depend on the values. ``--rolling`` also times the corrected mode
(6 weekly periods × 50 epochs).

Run:  python benchmarks/bench_simulation.py [--device cuda] [--full] [--rolling]
      (writes benchmarks/results/simulation[-<device>][-<n>threads].json)
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import copy
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from fase.simulation.forecaster import ForecastRequest, TorchForecaster, TrainingRequest

from fase.allocation import Groups, PaperPolicy
from fase.config.model import ModelConfig
from fase.data.features import FeatureSpec, build_features
from fase.io import write_json
from fase.models.fase import FASEModel
from fase.simulation.paper import paper_step
from fase.simulation.params import FeatureMap, Params, World
from fase.simulation.runner import simulate
from fase.simulation.state import initial_state

N_AREAS, N_MINORITY, TEST_BINS, HISTORY_BINS = 25, 14, 3_942, 1_008
REFERENCE = {"cycle_5_epochs_s": 22.0, "cycle_15_epochs_s": 98.0, "allocation_s": 6.4}
RESULTS = Path(__file__).parent / "results"


def synthetic_world(rng: np.random.Generator) -> World:
    """Baltimore-shaped counts (history + test window), raw features, 14/11 groups."""
    bins = HISTORY_BINS + TEST_BINS
    hours = np.arange(bins) % 24
    rate = rng.gamma(2.0, 0.105, N_AREAS)[:, None] * (1 + 0.6 * np.sin(2 * np.pi * hours / 24))
    true = rng.poisson(rate).astype(float)
    starts = pd.date_range("2019-06-08", periods=bins, freq="h", tz="UTC")
    static = rng.uniform(size=(N_AREAS, 3))
    spec = FeatureSpec(rolling_head="pandas_fill")
    scaler = {"mean": [0.0] * 13, "std": [1.0] * 13}  # the paper scales nothing
    x = build_features(true, starts, static, spec)
    minority = np.zeros(N_AREAS, dtype=bool)
    minority[rng.permutation(N_AREAS)[:N_MINORITY]] = True
    features = FeatureMap(spec, starts, static, scaler)
    return World(true, x, Groups.from_minority(minority), features, starts.asi8)


def paper_model(rng: np.random.Generator) -> FASEModel:
    """FASE with the paper's settings on a random contiguity graph (~108 directed edges)."""
    upper = np.triu(rng.random((N_AREAS, N_AREAS)) < 0.18, 1)
    a_geo = (upper | upper.T).astype(np.float32)
    a_norm = a_geo / np.maximum(a_geo.sum(1, keepdims=True), 1)
    similarity = rng.uniform(0.3, 1.0, (N_AREAS, N_AREAS))
    similarity = (similarity + similarity.T) / 2
    np.fill_diagonal(similarity, 0)
    adjacency = 0.6 * a_norm + 0.4 * np.where(similarity >= 0.5, similarity, 0) + np.eye(N_AREAS)
    config = ModelConfig(
        hawkes_self_excitation=False, hawkes_history="restart", likelihood_eps=1e-6
    )
    torch.manual_seed(42)
    return FASEModel.from_graph(
        torch.as_tensor(adjacency, dtype=torch.float32),
        torch.as_tensor(a_geo),
        config,
        num_features=13,
        hawkes_window_bins=168,
    )


def warmup_bins(model: FASEModel) -> int:
    """:func:`fase.phases.train.forecast_warmup`, which is not imported here because
    that module pulls in the geospatial stack (absent on the GPU benchmark machine)."""
    warmup = model.config.receptive_field - 1
    return max(warmup, model.hawkes.window) if model.hawkes.history == "restart" else warmup


def paper_params(cycles: int, epochs: int) -> Params:
    return Params(
        mode="paper",
        cycles=cycles,
        start=HISTORY_BINS,
        period_bins=TEST_BINS,
        risk="mu",
        retrain_epochs=epochs,
        retrain_window=64,
    )


def timed(run: Callable[[], Any], sync: Callable[[], None]) -> float:
    sync()
    start = time.perf_counter()
    run()
    sync()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--full", action="store_true", help="also 6 cycles × 50 epochs")
    parser.add_argument("--rolling", action="store_true", help="also the rolling mode")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    rng = np.random.default_rng(0)
    world = synthetic_world(rng)
    model = paper_model(rng)
    policy = PaperPolicy(budget=60.0, epsilon=0.05)

    def forecaster(seed: int = 0) -> TorchForecaster:
        return TorchForecaster(
            copy.deepcopy(model),
            warmup=warmup_bins(model),
            lr=1e-3,
            weight_decay=1e-4,
            grad_clip=5.0,
            seed=seed,
            device=device,
        )

    start, stop = HISTORY_BINS, HISTORY_BINS + TEST_BINS
    x, counts = world.true_features[:, start:stop], world.true_counts[:, start:stop]
    request = ForecastRequest(start, x, counts, start, stop, warmup=0)
    f = forecaster()
    f.forecast(request)  # warm-up
    results: dict[str, Any] = {
        "parameters": sum(p.numel() for p in model.parameters()),
        "inference_s": min(timed(lambda: f.forecast(request), sync) for _ in range(3)),
    }
    mu = f.forecast(request).mu
    results["allocation_s"] = min(
        timed(lambda: policy.allocate(mu, world.groups), sync) for _ in range(3)
    )
    starts = start + 64 * np.arange(61)
    train = TrainingRequest(start, x, counts * 0.4, starts, 64, 1, 1)
    f.retrain(train)  # warm-up (first Adam, kernels)
    results["epoch_61_steps_s"] = min(timed(lambda: f.retrain(train), sync) for _ in range(3))
    results["step_ms"] = 1e3 * results["epoch_61_steps_s"] / 61
    for epochs in (5, 15):
        params = paper_params(1, epochs)
        state = initial_state(params, world, np.random.default_rng(0))
        g = forecaster()
        seconds = timed(lambda p=params, s=state, g=g: paper_step(p, world, s, g, policy), sync)
        results[f"cycle_{epochs}_epochs_s"] = seconds
        results[f"speedup_{epochs}_epochs"] = REFERENCE[f"cycle_{epochs}_epochs_s"] / seconds
    results["extrapolated_6x50_s"] = 6 * (
        results["cycle_5_epochs_s"]
        + (50 - 5) * (results["cycle_15_epochs_s"] - results["cycle_5_epochs_s"]) / 10
    )
    if args.full:
        result = simulate(paper_params(6, 50), world, forecaster, policy, seed=42)
        results["full_6x50_s"] = result.seconds
        results["full_history"] = result.paper_history.to_dict(orient="records")
    if args.rolling:
        rolling = Params(mode="rolling", cycles=6, start=HISTORY_BINS, period_bins=168, risk="mu")
        result = simulate(rolling, world, forecaster, policy, seed=42)
        results["rolling_6x168_50_epochs_s"] = result.seconds
        results["rolling_forecast_passes"] = result.history["forecast_passes"].tolist()
    results.update(
        device=torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        threads=args.threads,
        torch=torch.__version__,
        platform=platform.platform(),
        processor=platform.processor() or platform.machine(),
        reference=REFERENCE,
    )
    suffix = f"-{device.type}" if device.type != "cpu" else ""
    suffix += f"-{args.threads}threads" if args.threads != 1 else ""
    write_json(RESULTS / f"simulation{suffix}.json", results)
    for key, value in results.items():
        if not isinstance(value, dict | list):
            print(f"{key:>28}: {value}")


if __name__ == "__main__":
    main()
