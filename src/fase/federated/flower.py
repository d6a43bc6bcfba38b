"""Flower in simulation mode: the districts' ClientApp, the aggregator's ServerApp, and
Flower's FedAvg / FedProx strategies.

What travels (Flower messages, nothing else):

* server → client: the global weights (an ``ArrayRecord`` of the model's learned
  parameters; buffers such as a graph model's supports stay local) and a config (round,
  local epochs, FedProx μ, or which split to score);
* client → server, training: the locally trained weights, its number of training
  area-bins (``num-examples``, the FedAvg weight), its training loss and its client id;
* client → server, evaluation: scalars only (its number of area-bins, its loss or its
  test NLL and MAE, its client id).

No count, feature or area id leaves a client: each reads its data from its own folder
(:mod:`fase.federated.shards`). Aggregation is Flower's own
(:func:`flwr.serverapp.strategy.FedAvg.aggregate_train`: Σ_k n_k·w_k / Σ_k n_k), given the
replies sorted by client id, so that its float sums run in a fixed order whatever the
order the clients finish in (:class:`InClientOrder`).

The run is Flower's simulation runtime (``flwr.simulation.run_simulation``: its
SuperLink state, grid, message routing and ServerApp thread) with one of two backends
executing the ClientApps, each with one torch thread:

* ``inprocess`` (default) — :class:`~fase.federated.backend.InProcessBackend`, one
  client at a time in this process: starts at once and is deterministic (Flower 1.41's
  runtime always builds its Ray backend; :func:`~fase.federated.backend.use_backend`
  swaps it for this one while the run lasts);
* ``ray`` — Flower's own Ray backend: ``workers`` Ray actors of one CPU each run the
  clients in parallel (a local Ray instance: about ten processes and several seconds
  to start; see docs/federated.md for its limits on a small, loaded machine).

Both give the same numbers for the same seed.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg, FedProx, Strategy
from flwr.simulation import run_simulation
from torch import Tensor

from fase.federated.backend import BackendName, use_backend
from fase.federated.local import (
    LocalSetup,
    local_model,
    local_seed,
    neural_forecaster,
    shared_weights,
    split_errors,
    train_locally,
    validation_loss,
)
from fase.federated.shards import load_shard
from fase.forecasters.data import ForecastData
from fase.forecasters.neural import NeuralForecaster

StrategyName = Literal["fedavg", "fedprox"]
CLIENT_KEY = "client"
WEIGHT_KEY = "num-examples"
RAY_OBJECT_STORE_BYTES = 256 * 1024**2


class InClientOrder:
    """Mixin for a Flower message strategy: replies sorted by client id before Flower
    aggregates them; a failed client stops the run (Flower would average the others);
    every reply's metrics kept in :attr:`replies` as ``{"round", "client", …}`` rows."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.replies: list[dict[str, float]] = []

    def _in_order(self, server_round: int, replies: Iterable[Message]) -> list[Message]:
        replies = list(replies)
        for reply in replies:
            if reply.has_error():
                raise RuntimeError(f"round {server_round}: a client failed: {reply.error.reason}")
        ordered = sorted(replies, key=lambda reply: float(reply.content["metrics"][CLIENT_KEY]))
        for reply in ordered:
            self.replies.append({"round": server_round, **dict(reply.content["metrics"])})
        return ordered

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        ordered = self._in_order(server_round, replies)
        arrays, metrics = super().aggregate_train(server_round, ordered)  # type: ignore[misc]
        return arrays, _without_client(metrics)

    def aggregate_evaluate(
        self, server_round: int, replies: Iterable[Message]
    ) -> MetricRecord | None:
        ordered = self._in_order(server_round, replies)
        return _without_client(super().aggregate_evaluate(server_round, ordered))  # type: ignore[misc]


def _without_client(metrics: MetricRecord | None) -> MetricRecord | None:
    """Flower averages every metric; the mean client id means nothing."""
    if metrics is not None:
        metrics.pop(CLIENT_KEY, None)
    return metrics


class OrderedFedAvg(InClientOrder, FedAvg):
    """Flower's FedAvg with replies in client order."""


class OrderedFedProx(InClientOrder, FedProx):
    """Flower's FedProx (sends ``proximal-mu`` to the clients) with replies in client order."""


def make_strategy(name: StrategyName, clients: int, mu: float) -> OrderedFedAvg:
    """FedAvg or FedProx(μ) over all ``clients`` every round (no sampling)."""
    sampling = {
        "fraction_train": 1.0,
        "fraction_evaluate": 1.0,
        "min_train_nodes": clients,
        "min_evaluate_nodes": clients,
        "min_available_nodes": clients,
        "weighted_by_key": WEIGHT_KEY,
    }
    if name == "fedprox":
        return OrderedFedProx(proximal_mu=mu, **sampling)
    return OrderedFedAvg(**sampling)


def client_app(setup: LocalSetup, shards: Path) -> ClientApp:
    """The ClientApp of every district: node ``partition-id`` k reads ``shards/client_k``."""
    app = ClientApp()

    def prepare(message: Message, context: Context) -> tuple[int, ForecastData, NeuralForecaster]:
        torch.set_num_threads(1)  # one thread per client, whichever backend runs it
        client = int(context.node_config["partition-id"])
        data = load_shard(shards / f"client_{client}")
        forecaster = neural_forecaster(setup)
        local_model(forecaster, data, message.content["arrays"].to_torch_state_dict())
        return client, data, forecaster

    @app.train()
    def train(message: Message, context: Context) -> Message:
        client, data, forecaster = prepare(message, context)
        config = message.content["config"]
        result = train_locally(
            forecaster,
            data,
            epochs=int(config["local-epochs"]),
            mu=float(config.get("proximal-mu", 0.0)),
            seed=local_seed(setup.seed, int(config["server-round"]), client),
        )
        metrics = {WEIGHT_KEY: result.examples, "train-loss": result.loss, CLIENT_KEY: client}
        content = {"arrays": ArrayRecord(shared_weights(forecaster.module)), "metrics": metrics}
        return Message(RecordDict(_records(content)), reply_to=message)

    @app.evaluate()
    def evaluate(message: Message, context: Context) -> Message:
        client, data, forecaster = prepare(message, context)
        if message.content["config"]["split"] == "val":
            result = validation_loss(forecaster, data)
            metrics = {WEIGHT_KEY: result.examples, "val-loss": result.loss}
        else:
            errors = split_errors(forecaster, data, "test")
            start, end = data.bounds("test")
            metrics = {
                WEIGHT_KEY: data.num_nodes * (end - start),
                "test-nll": float(errors["nll"].mean()),
                "test-mae": float(errors["mae"].mean()),
            }
        content = {"metrics": metrics | {CLIENT_KEY: client}}
        return Message(RecordDict(_records(content)), reply_to=message)

    return app


def _records(content: dict[str, Any]) -> dict[str, ArrayRecord | MetricRecord]:
    """Plain metric dicts as MetricRecords (arrays stay ArrayRecords)."""
    return {
        key: value if isinstance(value, ArrayRecord) else MetricRecord(value)
        for key, value in content.items()
    }


@dataclass(frozen=True)
class FlowerRun:
    """The outcome of :func:`run_flower`.

    Attributes:
        weights: the final global weights (the learned parameters, torch tensors).
        rounds: one row per round 0 … R: ``round``, ``train-loss`` (absent at 0) and
            ``val-loss``, Flower's example-weighted means over the clients.
        test: Flower's example-weighted ``test-nll`` and ``test-mae`` of the final model.
        replies: every client reply's metrics, ``{"round", "client", …}``.
        seconds: wall time of the simulation (with ``ray``: its start included).
    """

    weights: dict[str, Tensor]
    rounds: list[dict[str, float]]
    test: dict[str, float]
    replies: list[dict[str, float]]
    seconds: float


def _evaluate(
    strategy: Strategy, grid: Grid, server_round: int, arrays: ArrayRecord, split: str
) -> dict[str, float]:
    """One federated evaluation of ``arrays`` on every client's ``split``."""
    messages = strategy.configure_evaluate(
        server_round, arrays, ConfigRecord({"split": split}), grid
    )
    metrics = strategy.aggregate_evaluate(server_round, grid.send_and_receive(messages))
    return dict(metrics or {})


@contextlib.contextmanager
def _quiet_flower(verbose: bool) -> Iterator[None]:
    """Flower logs every round at INFO and a deprecation banner: errors only, unless verbose."""
    logger = logging.getLogger("flwr")
    level = logger.level
    if not verbose:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def run_flower(
    setup: LocalSetup,
    shards: Path,
    initial: dict[str, Tensor],
    *,
    clients: int,
    rounds: int,
    local_epochs: int,
    strategy: StrategyName = "fedavg",
    mu: float = 0.0,
    backend: BackendName = "inprocess",
    workers: int = 2,
    verbose: bool = False,
) -> FlowerRun:
    """Federate ``setup.model`` from the weights ``initial`` over ``clients`` districts
    whose data lie in ``shards/client_k``, for ``rounds`` rounds of ``local_epochs``
    local epochs, with Flower's simulation runtime and ``backend`` (``ray``: ``workers``
    actors; module docstring).

    Round 0 scores the initial weights on every client's validation windows; each round
    then trains on all clients, aggregates, and scores the new global weights; after the
    last round every client scores them on its test split.
    """
    with _quiet_flower(verbose):  # FedProx(μ = 0) logs a warning
        chosen = make_strategy(strategy, clients, mu)
    outcome: dict[str, Any] = {}
    server = ServerApp()

    @server.main()
    def main(grid: Grid, context: Context) -> None:
        arrays = ArrayRecord(initial)
        first = _evaluate(chosen, grid, 0, arrays, "val")
        result = chosen.start(
            grid=grid,
            initial_arrays=arrays,
            num_rounds=rounds,
            train_config=ConfigRecord({"local-epochs": local_epochs}),
            evaluate_config=ConfigRecord({"split": "val"}),
        )
        outcome["rounds"] = [{"round": 0, **first}] + [
            {
                "round": r,
                **dict(result.train_metrics_clientapp.get(r, {})),
                **dict(result.evaluate_metrics_clientapp.get(r, {})),
            }
            for r in range(1, rounds + 1)
        ]
        outcome["test"] = _evaluate(chosen, grid, rounds, result.arrays, "test")
        outcome["weights"] = result.arrays.to_torch_state_dict()

    ray = {
        "client_resources": {"num_cpus": 1, "num_gpus": 0.0},
        "init_args": {
            "num_cpus": workers,
            "object_store_memory": RAY_OBJECT_STORE_BYTES,
            "log_to_driver": verbose,
        },
    }
    started = time.perf_counter()
    with _quiet_flower(verbose), use_backend(backend):
        run_simulation(
            server_app=server,
            client_app=client_app(setup, shards),
            num_supernodes=clients,
            backend_name=backend,
            backend_config=ray if backend == "ray" else {},
        )
    if "weights" not in outcome:
        raise RuntimeError("the Flower simulation ended without a result (see its log above)")
    return FlowerRun(
        weights=outcome["weights"],
        rounds=outcome["rounds"],
        test=outcome["test"],
        replies=chosen.replies,
        seconds=time.perf_counter() - started,
    )
