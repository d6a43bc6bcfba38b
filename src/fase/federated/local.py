"""What one client does with its own data: train the global model locally, score it.

A client receives the global weights, loads them into a fresh module built for its own
areas (:func:`local_model`), and either trains it for E local epochs with the training
engine's pass (:func:`fase.training.train_epoch`: the model's objective, minibatches,
gradient clipping, a fresh Adam each round; :func:`train_locally`), or scores it on its
validation windows (:func:`validation_loss`) or its test bins (:func:`split_errors`).

FedProx (Li et al. 2020) adds (μ/2)·‖w − w_t‖² to the local loss, w_t the global weights
the round started from. :func:`proximal_hooks` adds its gradient μ·(w − w_t) to every
parameter's gradient during backward, before clipping and the optimizer step: the same
update as the loss term, without changing the engine's pass. The reported training loss
is the model's objective alone (without the proximal term).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from fase.errors import FaseInputError
from fase.evaluation.counts import count_metrics
from fase.forecasters.data import ForecastData
from fase.forecasters.neural import NeuralForecaster
from fase.forecasters.registry import ForecasterSettings, create
from fase.models.distributions import CountDistribution
from fase.runtime import torch_seeded
from fase.training.engine import evaluate_loss, train_epoch
from fase.training.windows import CountSeries, split_windows


@dataclass(frozen=True)
class LocalSetup:
    """What every client is told before the first round (no data): the registry name of
    the model, the zoo settings that build and train it, and the run's seed."""

    model: str
    settings: ForecasterSettings
    seed: int


@dataclass(frozen=True)
class LocalResult:
    """A client's reply content besides weights: its loss and how many area-bins it covers
    (``examples``: the FedAvg weight)."""

    loss: float
    examples: int


def neural_forecaster(setup: LocalSetup) -> NeuralForecaster:
    """A fresh forecaster ``setup.model``; a model without weights cannot be federated."""
    forecaster = create(setup.model, setup.settings)
    if not isinstance(forecaster, NeuralForecaster):
        raise FaseInputError(
            "--model",
            f"{setup.model} is not a neural model: it has no weights to federate",
            "choose dnn, crimenet or gat_tcn",
        )
    return forecaster


def local_seed(seed: int, server_round: int, client: int) -> int:
    """The seed of one client's round (minibatch order and dropout): from (seed, round, client)."""
    return int(np.random.SeedSequence([seed, server_round, client]).generate_state(1)[0])


def shared_weights(module: nn.Module) -> dict[str, Tensor]:
    """What a federation shares: the module's learned parameters, by name (detached).
    Buffers stay with the client: they are its own graph (supports, masks), built from
    its areas."""
    return {name: parameter.detach() for name, parameter in module.named_parameters()}


def local_model(
    forecaster: NeuralForecaster, data: ForecastData, weights: dict[str, Tensor]
) -> nn.Module:
    """A module built for ``data``'s areas holding the shared ``weights`` (every learned
    parameter, same shapes; its buffers are its own); it becomes ``forecaster.module``."""
    with torch_seeded(0):  # the learned weights are replaced: keep the caller's RNG untouched
        module = forecaster.build_module(data)
    missing, unexpected = module.load_state_dict(weights, strict=False)
    not_loaded = set(missing) & set(shared_weights(module))
    if not_loaded or unexpected:
        raise RuntimeError(
            f"weights do not match the model: {sorted(not_loaded | set(unexpected))}"
        )
    forecaster.adopt(module)
    return module


def _series(data: ForecastData, module: nn.Module) -> CountSeries:
    return CountSeries(data.x, data.y.astype(np.float32), module.history_steps)


def proximal_hooks(module: nn.Module, mu: float) -> list[RemovableHandle]:
    """Gradient hooks adding μ·(w − w_t) to each parameter's gradient, w_t its value now."""
    handles = []
    for parameter in module.parameters():
        anchor = parameter.detach().clone()

        def pull(grad: Tensor, parameter: Tensor = parameter, anchor: Tensor = anchor) -> Tensor:
            return grad + mu * (parameter.detach() - anchor)

        handles.append(parameter.register_hook(pull))
    return handles


def train_locally(
    forecaster: NeuralForecaster, data: ForecastData, epochs: int, mu: float, seed: int
) -> LocalResult:
    """Train ``forecaster.module`` in place for ``epochs`` epochs on ``data``'s training
    windows (see the module docstring); ``mu`` > 0 adds the FedProx proximal term.

    Returns the last epoch's loss and the area-bins of the training windows (N_k·K·W).
    """
    module, training = forecaster.module, forecaster.training
    if module is None:
        raise RuntimeError("load the global weights (local_model) before training")
    starts = split_windows(data.split, training).train
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(
        module.parameters(), lr=training.lr, weight_decay=training.weight_decay, fused=True
    )
    with torch_seeded(seed):  # dropout draws from torch's global generator
        handles = proximal_hooks(module, mu) if mu > 0 else []
        try:
            losses = [
                train_epoch(
                    module,
                    _series(data, module),
                    starts,
                    optimizer,
                    window=training.window,
                    batch_size=training.batch_size,
                    generator=generator,
                    grad_clip=training.grad_clip,
                    reduction=training.loss_reduction,
                    objective=training.objective,
                )
                for _ in range(epochs)
            ]
        finally:
            for handle in handles:
                handle.remove()
    return LocalResult(losses[-1], data.num_nodes * len(starts) * training.window)


def validation_loss(forecaster: NeuralForecaster, data: ForecastData) -> LocalResult:
    """The model's objective over ``data``'s validation windows (the engine's
    :func:`~fase.training.evaluate_loss`) and their area-bins."""
    module, training = forecaster.module, forecaster.training
    if module is None:
        raise RuntimeError("load the global weights (local_model) before scoring")
    starts = split_windows(data.split, training).val
    loss = evaluate_loss(
        module,
        _series(data, module),
        starts,
        window=training.window,
        batch_size=training.batch_size,
        reduction=training.loss_reduction,
        objective=training.objective,
    )
    return LocalResult(loss, data.num_nodes * len(starts) * training.window)


def area_errors(distribution: CountDistribution, y_true: np.ndarray) -> dict[str, np.ndarray]:
    """Per-area errors of a (T, N) forecast of counts ``y_true`` (T, N): ``{"nll", "mae"}``,
    each (N,) float64, the mean over the T bins of −log p(y) (nats) and |E[Y] − y|."""
    y = torch.as_tensor(np.asarray(y_true, dtype=np.float64))
    expected = distribution.mean.detach().cpu().double().numpy()
    log_prob = distribution.log_prob(y).detach().cpu().double().numpy()
    scores = count_metrics(y.numpy(), expected, log_prob, axis=0)
    return {"nll": np.asarray(scores["nll"]), "mae": np.asarray(scores["mae"])}


def split_errors(
    forecaster: NeuralForecaster, data: ForecastData, split: str = "test"
) -> dict[str, np.ndarray]:
    """:func:`area_errors` of ``forecaster``'s one-step-ahead forecast of ``split``."""
    start, end = data.bounds(split)
    return area_errors(forecaster.predict(data, start, end), data.y[:, start:end].T)
