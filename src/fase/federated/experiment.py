"""A federated experiment: partition a city into districts, federate a neural forecaster
over them with Flower, train the same model centrally on the same data and budget, and
write the gap between the two.

Same data, split and budget: both start from the same initial weights (the module
built with torch seeded by the run's seed) and train with the same engine settings
(objective, lr, window, stride, batch, clipping) for the same number of epochs over the
same training windows — the federation R rounds × E local epochs on each client's
areas, the centralised model R·E epochs on all areas (:func:`fase.training.fit`, no
early stopping, no learning-rate plateau, its last weights scored). Both are scored on
every area's test bins, per client and pooled.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from torch import Tensor

from fase.config import FederatedConfig
from fase.config.model import ModelConfig
from fase.config.training import TrainingConfig
from fase.errors import FaseInputError
from fase.federated.local import LocalSetup, neural_forecaster, shared_weights, split_errors
from fase.federated.partition import client_areas, client_data, partition_areas
from fase.federated.report import FederatedResult, write_outputs
from fase.federated.shards import save_shard
from fase.forecasters.data import ForecastData
from fase.forecasters.registry import ForecasterSettings
from fase.progress import Say, silent
from fase.rundir import RunDir
from fase.runtime import torch_seeded


def budget_training(training: TrainingConfig, config: FederatedConfig) -> TrainingConfig:
    """``training`` with R·E epochs, no early stopping, no plateau, last weights scored."""
    epochs = config.total_epochs
    return training.model_copy(
        update={
            "epochs": epochs,
            "early_stopping_patience": None,
            "plateau_patience": epochs,
            "test_checkpoint": "last",
        }
    )


def initial_weights(
    setup: LocalSetup, data: ForecastData, clients: list[ForecastData]
) -> dict[str, Tensor]:
    """The global model's initial weights (:func:`~fase.federated.local.shared_weights`
    of the module built on the whole city with torch seeded by the run's seed, as the
    centralised fit builds it).

    Raises:
        FaseInputError: the model is not neural, or a learned weight's shape depends on
            the number of areas (such as FASE's N × N Hawkes excitation): it belongs to
            areas, and FedAvg cannot average it across districts.
    """
    forecaster = neural_forecaster(setup)
    with torch_seeded(setup.seed):
        weights = shared_weights(forecaster.build_module(data))
    for k, local in enumerate(clients):
        shapes = {
            n: tuple(t.shape) for n, t in shared_weights(forecaster.build_module(local)).items()
        }
        for name, tensor in weights.items():
            if shapes.get(name) != tuple(tensor.shape):
                raise FaseInputError(
                    "--model",
                    f"{setup.model}'s weight {name!r} has shape {tuple(tensor.shape)} on the "
                    f"city's {data.num_nodes} areas and {shapes.get(name)} on client {k}'s "
                    f"{local.num_nodes}: it depends on the areas, so FedAvg cannot average it",
                    "federate a model whose weights are shared by all areas: dnn, crimenet, "
                    "gat_tcn or stgnn",
                )
    return weights


def federate(
    data: ForecastData,
    config: FederatedConfig,
    training: TrainingConfig,
    out_dir: Path,
    *,
    seed: int,
    model: ModelConfig | None = None,
    quick: bool = False,
    workers: int = 2,
    say: Say = silent,
    verbose: bool = False,
) -> FederatedResult:
    """Partition, federate, train centrally, compare; write the outputs into ``out_dir``.

    ``training``: the engine settings of both (the model may override objective and lr);
    epochs, early stopping and plateau are set by :func:`budget_training`. ``model``: FASE's
    configuration (the ``fase`` model; default: the defaults). ``seed``:
    partition, initial weights, minibatch order, dropout; ``quick``: the small network
    sizes; ``workers``: Ray actors running the clients (``backend: ray``).
    """
    from fase.federated.flower import run_flower  # imports flwr (and Ray lazily)

    owner = partition_areas(data.graph.A_geo, config.clients, seed)
    groups = client_areas(owner)
    districts = [client_data(data, areas) for areas in groups]
    settings = ForecasterSettings(budget_training(training, config), quick, model or ModelConfig())
    setup = LocalSetup(config.model, settings, seed)
    initial = initial_weights(setup, data, districts)
    say(
        f"{config.clients} clients of {', '.join(str(len(a)) for a in groups)} areas; "
        f"{config.strategy} over {config.rounds} rounds × {config.local_epochs} local epochs"
    )
    with tempfile.TemporaryDirectory(prefix="fase-federated-") as scratch:
        shards = Path(scratch)
        for k, local in enumerate(districts):
            save_shard(local, shards / f"client_{k}")
        flower = run_flower(
            setup,
            shards,
            initial,
            clients=config.clients,
            rounds=config.rounds,
            local_epochs=config.local_epochs,
            strategy=config.strategy,
            mu=config.proximal_weight,
            backend=config.backend,
            workers=workers,
            verbose=verbose,
        )
    torch.set_num_threads(training.threads)  # the clients ran with one thread each
    say(
        f"federated ({config.backend}): test NLL {flower.test['test-nll']:.4f} "
        f"({flower.seconds:.1f} s)"
    )
    central = neural_forecaster(setup)
    out = RunDir(out_dir)
    report = central.fit(data, seed=seed, out_dir=out.centralised.root)
    central_errors = split_errors(central, data, "test")
    say(f"centralised: test NLL {central_errors['nll'].mean():.4f} ({report.seconds:.1f} s)")
    return write_outputs(
        out,
        config=config,
        seed=seed,
        quick=quick,
        data=data,
        groups=groups,
        flower=flower,
        central_errors=central_errors,
        central_seconds=report.seconds,
        family=central.family,
    )


__all__ = ["FederatedResult", "budget_training", "federate", "initial_weights"]
