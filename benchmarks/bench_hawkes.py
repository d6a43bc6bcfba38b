"""Smoke benchmark: Hawkes excitation and the whole FASE model, forward + backward, 1 thread.

    python benchmarks/bench_hawkes.py [--repeats 20]

Prints the median wall time of forward + backward for
* the Hawkes layer on a training batch (32, 25, 168 + 32) and on the whole test split
  at once (1, 25, 168 + 3942), H = 168;
* FASEModel on a batch x (32, 25, 32, 13) with P = 168 bins of history ("carry") and
  with none ("restart", the paper).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from fase.config.model import ModelConfig
from fase.models.fase import FASEModel
from fase.models.layers.hawkes import HawkesExcitation, excitation_mask

NODES, FEATURES, H = 25, 13, 168


def median_ms(step: Callable[[], None], repeats: int) -> float:
    step()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def graph(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    upper = torch.triu((torch.rand(NODES, NODES, generator=gen) < 0.2).float(), diagonal=1)
    a_geo = upper + upper.T
    return 0.6 * a_geo / a_geo.sum(1, keepdim=True).clamp(min=1) + torch.eye(NODES), a_geo


def hawkes_step(batch: int, steps: int, gen: torch.Generator) -> Callable[[], None]:
    _, a_geo = graph(gen)
    layer = HawkesExcitation(excitation_mask(a_geo, True), H, "carry")
    y_hist = torch.poisson(torch.full((batch, NODES, H + steps), 0.5), generator=gen)

    def step() -> None:
        layer.zero_grad()
        layer(y_hist, steps).sum().backward()

    return step


def model_step(history: str, gen: torch.Generator) -> Callable[[], None]:
    adjacency, a_geo = graph(gen)
    config = ModelConfig(hawkes_history=history)  # type: ignore[arg-type]
    model = FASEModel.from_graph(
        adjacency, a_geo, config, num_features=FEATURES, hawkes_window_bins=H
    )
    x = torch.randn(32, NODES, 32, FEATURES, generator=gen)
    y_hist = torch.poisson(torch.full((32, NODES, model.history_steps + 32), 0.5), generator=gen)
    target = y_hist[..., model.history_steps :]

    def step() -> None:
        model.zero_grad()
        model.distribution(model(x, y_hist)).nll(target).backward()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, H = {H}")
    cases = {
        "hawkes (32, 25, 168+32)": hawkes_step(32, 32, gen),
        "hawkes (1, 25, 168+3942)": hawkes_step(1, 3942, gen),
        "FASEModel (32, 25, 32, 13), carry P=168": model_step("carry", gen),
        "FASEModel (32, 25, 32, 13), restart P=0": model_step("restart", gen),
    }
    for name, step in cases.items():
        print(f"{name:<42} fwd+bwd {median_ms(step, args.repeats):8.2f} ms")


if __name__ == "__main__":
    main()
