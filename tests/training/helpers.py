"""Tiny synthetic series, a tiny FASE model, and stub forecasters with known losses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from fase.config.model import ModelConfig
from fase.config.training import TrainingConfig
from fase.models.distributions import CountDistribution, Poisson
from fase.models.fase import FASEModel
from fase.training import CountSeries, SplitWindows, fit, window_starts

N, T, F = 5, 300, 13
SPLIT = {"train": (0, 200), "val": (200, 250), "test": (250, 300)}
HAWKES_BINS = 24


def synthetic_series() -> tuple[np.ndarray, np.ndarray]:
    """x (N, T, F) standard normal, y (N, T) Poisson(0.6) counts, fixed seed."""
    rng = np.random.default_rng(7)
    return rng.normal(size=(N, T, F)).astype(np.float32), rng.poisson(0.6, (N, T)).astype(np.int32)


def tiny_graph() -> tuple[Tensor, Tensor]:
    """(A_combined, A_geo) on a 5-node ring."""
    a_geo = torch.zeros(N, N)
    for i in range(N):
        a_geo[i, (i + 1) % N] = a_geo[(i + 1) % N, i] = 1.0
    return 0.6 * a_geo / 2 + torch.eye(N), a_geo


def tiny_model(seed: int = 0, **fields: object) -> FASEModel:
    """FASE with 8 channels, two blocks (receptive field 4) and a 24-bin Hawkes memory."""
    settings = {
        "channels": 8,
        "embedding_dim": 4,
        "head_hidden": 4,
        "blocks": 2,
        "dilations": (1, 2),
    }
    config = ModelConfig(**(settings | fields))
    torch.manual_seed(seed)
    adjacency, a_geo = tiny_graph()
    return FASEModel.from_graph(
        adjacency, a_geo, config, num_features=F, hawkes_window_bins=HAWKES_BINS
    )


def tiny_training(**fields: object) -> TrainingConfig:
    """Windows of 16 every 8 bins, batches of 4 (6 minibatches per epoch), 4 epochs."""
    settings = {"window": 16, "stride": 8, "batch_size": 4, "epochs": 4, "threads": 1}
    return TrainingConfig(**(settings | fields))


def tiny_windows(config: TrainingConfig) -> SplitWindows:
    starts = {k: window_starts(*v, config.window, config.stride) for k, v in SPLIT.items()}
    return SplitWindows(starts["train"], starts["val"], starts["test"])


class ConstantPoisson(nn.Module):
    """Poisson(μ) with one μ = softplus(w) for every element; ignores its inputs.

    With all-zero training counts every step lowers μ; with validation counts c the
    validation NLL μ − c·log μ + log c! is smallest at μ = c.
    """

    history_steps = 0

    def __init__(self, mu: float) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(float(np.log(np.expm1(mu)))))

    @property
    def mu(self) -> Tensor:
        return nn.functional.softplus(self.w)

    def forward(self, x: Tensor, y_hist: Tensor) -> dict[str, Tensor]:
        return {"mu": self.mu.expand(x.shape[:3])}

    def distribution(self, params: dict[str, Tensor]) -> CountDistribution:
        return Poisson(params["mu"])


class ScheduledPoisson(ConstantPoisson):
    """Poisson whose μ is ``schedule[epoch]`` (set by the caller), plus 0·w for the optimizer."""

    def __init__(self, schedule: list[float]) -> None:
        super().__init__(1.0)
        self.schedule = schedule
        self.epoch = 0

    def forward(self, x: Tensor, y_hist: Tensor) -> dict[str, Tensor]:
        mu = torch.tensor(self.schedule[min(self.epoch, len(self.schedule) - 1)]) + 0.0 * self.w
        return {"mu": mu.expand(x.shape[:3])}


def run(out: Path, seed: int = 3, model_seed: int = 0, resume: bool = False, **training: object):
    """Fit a tiny FASE model (seed ``model_seed``) on the synthetic series with the tiny
    training settings overridden by ``training`` (``resume``: from ``out``'s checkpoint);
    (model, FitResult)."""
    config = tiny_training(**training)
    model = tiny_model(model_seed)
    x, y = synthetic_series()
    result = fit(
        model,
        CountSeries(x, y, model.history_steps),
        tiny_windows(config),
        config,
        seed=seed,
        out_dir=out,
        resume=resume,
        progress=False,
    )
    return model, result
