"""Benchmark of one optimiser step of the FASE paper model on CPU, with its breakdown.

The feedback simulator's paper mode retrains with batches of one 64-bin window: 6
cycles × 50 epochs × 61 windows = 18,300 sequential Adam steps, so the time of one step
is the time of the retraining. Timed per step after a warm-up (min and median over
``--steps`` steps), on each thread count of ``--threads``:

    forward   model(x, y_hist), train mode (dropout on)
    loss      −mean log p(y), ZINB with the reference clamps (paper preset)
    backward  loss.backward()
    clip      clip_grad_norm_(parameters, 5.0)
    adam      Adam(lr 1e-3, weight decay 1e-4).step(): ``default`` (a loop over the
              parameters on CPU) and ``fused``

for the batch of one x (1, 25, 64, 13) (paper model: 108,309 parameters, Hawkes history
restarting per window) and for a training batch x (32, 25, 32, 13); also the eval
forward of the batch of one under ``torch.inference_mode`` and the multiply–adds of a
step (``torch.utils.flop_counter``), which, unlike times, do not depend on the load of
the machine (the 1-minute load average at start and end is recorded with the times).

Run:  python benchmarks/bench_step.py [--steps 100] [--threads 1 2]
      (writes benchmarks/results/step.json)
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from fase.config.model import ModelConfig
from fase.io import write_json
from fase.models.fase import FASEModel

NODES, FEATURES, HAWKES_BINS = 25, 13, 168
PHASES = ("forward", "loss", "backward", "clip", "adam")
RESULTS = Path(__file__).parent / "results"


def paper_model(seed: int = 0) -> FASEModel:
    """The paper's FASE model on a random 25-node graph (A_combined as in Phase 2)."""
    gen = torch.Generator().manual_seed(seed)
    upper = torch.triu((torch.rand(NODES, NODES, generator=gen) < 0.18).float(), diagonal=1)
    a_geo = upper + upper.T
    similarity = torch.rand(NODES, NODES, generator=gen) * 0.7 + 0.3
    similarity = ((similarity + similarity.T) / 2).fill_diagonal_(0.0)
    degree = a_geo.sum(1, keepdim=True).clamp(min=1)
    adjacency = 0.6 * a_geo / degree + 0.4 * torch.where(similarity >= 0.5, similarity, 0.0)
    config = ModelConfig(
        hawkes_self_excitation=False, hawkes_history="restart", likelihood_eps=1e-6
    )
    torch.manual_seed(seed)
    return FASEModel.from_graph(
        adjacency + torch.eye(NODES),
        a_geo,
        config,
        num_features=FEATURES,
        hawkes_window_bins=HAWKES_BINS,
    )


def inputs(batch: int, steps: int, seed: int = 1) -> tuple[Tensor, Tensor]:
    """x (B, N, T, F) standard normal and Poisson(0.2) counts y (B, N, T) (P = 0)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, NODES, steps, FEATURES, generator=gen)
    y = torch.poisson(torch.full((batch, NODES, steps), 0.2), generator=gen)
    return x, y


def time_steps(
    model: nn.Module, optimizer: torch.optim.Optimizer, x: Tensor, y: Tensor, steps: int
) -> dict[str, dict[str, float]]:
    """Min and median milliseconds of each phase of a training step (module docstring)."""
    model.train()
    times: dict[str, list[float]] = {phase: [] for phase in (*PHASES, "step")}
    for index in range(steps + 5):  # the first 5 warm up
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        params = model(x, y)
        forward = time.perf_counter()
        loss = -model.distribution(params).log_prob(y).mean()
        computed = time.perf_counter()
        loss.backward()
        backward = time.perf_counter()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        clipped = time.perf_counter()
        optimizer.step()
        end = time.perf_counter()
        if index >= 5:
            marks = (start, forward, computed, backward, clipped, end)
            for phase, begin, finish in zip(PHASES, marks[:-1], marks[1:], strict=True):
                times[phase].append(finish - begin)
            times["step"].append(end - start)
    return {
        phase: {"min_ms": 1e3 * min(values), "median_ms": 1e3 * statistics.median(values)}
        for phase, values in times.items()
    }


def step_multiply_adds(model: FASEModel, x: Tensor, y: Tensor) -> float:
    """Multiply–adds of forward + loss + backward (matrix products only), in millions."""
    model.train()
    with FlopCounterMode(display=False) as counter:
        (-model.distribution(model(x, y)).log_prob(y).mean()).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / 2e6


def inference_ms(model: FASEModel, x: Tensor, y: Tensor, repeats: int) -> float:
    """Median milliseconds of one eval forward under inference_mode."""
    model.eval()
    times = []
    with torch.inference_mode():
        for index in range(repeats + 5):
            start = time.perf_counter()
            model(x, y)
            if index >= 5:
                times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def adam(model: nn.Module, fused: bool) -> torch.optim.Adam:
    return torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4, fused=fused)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="timed steps per setting")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    load_before = os.getloadavg()[0]  # times depend on what else the machine runs
    model = paper_model()
    shapes = {"batch_of_one": (1, 64), "training_batch": (32, 32)}
    results: dict[str, Any] = {
        "parameters": sum(p.numel() for p in model.parameters()),
        "multiply_adds_millions": {
            name: step_multiply_adds(model, *inputs(b, t)) for name, (b, t) in shapes.items()
        },
    }
    for threads in args.threads:
        torch.set_num_threads(threads)
        timings: dict[str, Any] = {}
        for name, (batch, steps) in shapes.items():
            x, y = inputs(batch, steps)
            repeats = args.steps if batch == 1 else max(5, args.steps // 10)
            for fused in (False, True):
                trained = paper_model()
                label = f"{name}_{'fused' if fused else 'default'}_adam"
                timings[label] = time_steps(trained, adam(trained, fused), x, y, repeats)
        timings["inference_batch_of_one_ms"] = inference_ms(model, *inputs(1, 64), args.steps)
        results[f"{threads}_threads"] = timings
    results.update(
        load_average_1min={"start": load_before, "end": os.getloadavg()[0]},
        torch=torch.__version__,
        platform=platform.platform(),
        processor=platform.processor() or platform.machine(),
        cpu_count=os.cpu_count(),
    )
    write_json(RESULTS / "step.json", results)
    for threads in args.threads:
        for label, phases in results[f"{threads}_threads"].items():
            if isinstance(phases, dict):
                cells = "  ".join(
                    f"{p} {v['min_ms']:.2f}/{v['median_ms']:.2f}" for p, v in phases.items()
                )
                print(f"{threads} thread(s) {label}: {cells}  (ms, min/median)")
            else:
                print(f"{threads} thread(s) {label}: {phases:.2f} ms")
    print("multiply-adds per step (millions):", results["multiply_adds_millions"])


if __name__ == "__main__":
    main()
