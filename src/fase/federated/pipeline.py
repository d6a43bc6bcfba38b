"""``fase federated``: partition a city into districts, federate a neural forecaster over
them with Flower, train the same model centrally on the same data and budget, and write
the gap between the two.

Same data, split and budget: both start from the same initial weights (the module
built after ``torch.manual_seed(seed)``) and train with the same engine settings
(objective, lr, window, stride, batch, clipping) for the same number of epochs over the
same training windows — the federation R rounds × E local epochs on each client's
areas, the centralised model R·E epochs on all areas (:func:`fase.training.fit`, no
early stopping, no learning-rate plateau, its last weights scored). Both are scored on
every area's test bins, per client and pooled.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor

from fase.config import RunConfig
from fase.config.training import TrainingConfig
from fase.errors import FaseInputError
from fase.federated.local import LocalSetup, neural_forecaster, shared_weights, split_errors
from fase.federated.partition import client_areas, client_data, partition_areas
from fase.federated.report import FederatedResult, write_outputs
from fase.federated.shards import save_shard
from fase.phases import ensure_data_phases
from fase.runinfo import write_run_info
from fase.runtime import configure_threads
from fase.zoo.data import ForecastData
from fase.zoo.pipeline import QUICK_TRAINING
from fase.zoo.registry import ZooSettings

Say = Callable[[str], None]


@dataclass(frozen=True)
class FederatedSettings:
    """One federated experiment.

    Attributes:
        clients: K districts (2 ≤ K ≤ N areas).
        rounds: R federated rounds.
        local_epochs: E epochs each client trains per round.
        model: a registry name of a neural forecaster whose learned weights do not
            depend on the number of areas.
        strategy: ``fedavg`` or ``fedprox``.
        mu: FedProx's proximal weight μ (0 with ``fedavg``).
        seed: partition, initial weights, minibatch order, dropout.
        quick: the zoo's small model sizes.
        backend: ``inprocess`` (clients one after the other in this process) or ``ray``
            (``workers`` Ray actors of one CPU each); one torch thread per client.
        workers: Ray actors running the clients (``ray`` only).
    """

    clients: int = 4
    rounds: int = 5
    local_epochs: int = 1
    model: str = "dnn"
    strategy: Literal["fedavg", "fedprox"] = "fedavg"
    mu: float = 0.0
    seed: int = 0
    quick: bool = False
    backend: Literal["inprocess", "ray"] = "inprocess"
    workers: int = 2

    @property
    def total_epochs(self) -> int:
        """R·E, the centralised model's epochs."""
        return self.rounds * self.local_epochs


def budget_training(training: TrainingConfig, settings: FederatedSettings) -> TrainingConfig:
    """``training`` with R·E epochs, no early stopping, no plateau, last weights scored."""
    epochs = settings.total_epochs
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
    of the module built on the whole city after ``torch.manual_seed(seed)``, as the
    centralised fit builds it).

    Raises:
        FaseInputError: the model is not neural, or a learned weight's shape depends on
            the number of areas (such as FASE's N × N Hawkes excitation): it belongs to
            areas, and FedAvg cannot average it across districts.
    """
    forecaster = neural_forecaster(setup)
    torch.manual_seed(setup.seed)
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
    settings: FederatedSettings,
    training: TrainingConfig,
    out_dir: Path,
    say: Say = lambda _msg: None,
    verbose: bool = False,
) -> FederatedResult:
    """Partition, federate, train centrally, compare; write the outputs into ``out_dir``.

    ``training``: the engine settings of both (the model may override objective and lr);
    epochs, early stopping and plateau are set by :func:`budget_training`.
    """
    from fase.federated.flower import run_flower  # imports flwr (and Ray lazily)

    if settings.strategy == "fedavg" and settings.mu != 0:
        raise FaseInputError("--mu", "applies to --strategy fedprox only", "leave --mu out")
    if settings.mu < 0:
        raise FaseInputError("--mu", f"must be ≥ 0, got {settings.mu}")
    owner = partition_areas(data.graph.A_geo, settings.clients, settings.seed)
    groups = client_areas(owner)
    districts = [client_data(data, areas) for areas in groups]
    setup = LocalSetup(
        settings.model,
        ZooSettings(budget_training(training, settings), settings.quick),
        settings.seed,
    )
    initial = initial_weights(setup, data, districts)
    say(
        f"{settings.clients} clients of {', '.join(str(len(a)) for a in groups)} areas; "
        f"{settings.strategy} over {settings.rounds} rounds × {settings.local_epochs} local epochs"
    )
    with tempfile.TemporaryDirectory(prefix="fase-federated-") as scratch:
        shards = Path(scratch)
        for k, local in enumerate(districts):
            save_shard(local, shards / f"client_{k}")
        flower = run_flower(
            setup,
            shards,
            initial,
            clients=settings.clients,
            rounds=settings.rounds,
            local_epochs=settings.local_epochs,
            strategy=settings.strategy,
            mu=settings.mu,
            backend=settings.backend,
            workers=settings.workers,
            verbose=verbose,
        )
    torch.set_num_threads(training.threads)  # the clients ran with one thread each
    say(
        f"federated ({settings.backend}): test NLL {flower.test['test-nll']:.4f} "
        f"({flower.seconds:.1f} s)"
    )
    central = neural_forecaster(setup)
    report = central.fit(data, seed=settings.seed, out_dir=out_dir / "centralised")
    central_errors = split_errors(central, data, "test")
    say(f"centralised: test NLL {central_errors['nll'].mean():.4f} ({report.seconds:.1f} s)")
    return write_outputs(
        out_dir,
        settings=settings,
        data=data,
        groups=groups,
        flower=flower,
        central_errors=central_errors,
        central_seconds=report.seconds,
        family=central.family,
    )


def run_federated(
    cfg: RunConfig,
    out_dir: Path,
    settings: FederatedSettings,
    say: Say = lambda _msg: None,
    verbose: bool = False,
) -> FederatedResult:
    """Build the data (if ``out_dir`` has none), then :func:`federate` with the run's
    training section (``quick``: the zoo's smoke windows, every 8th); writes
    ``config.yaml`` and ``run_info.json`` too."""
    configure_threads(cfg.training.threads)
    training = cfg.training.model_copy(update=QUICK_TRAINING) if settings.quick else cfg.training
    ensure_data_phases(cfg, out_dir, say)
    write_run_info(
        out_dir,
        cfg,
        "federated",
        {
            "clients": settings.clients,
            "rounds": settings.rounds,
            "local_epochs": settings.local_epochs,
            "model": settings.model,
            "strategy": settings.strategy,
            "mu": settings.mu,
            "quick": settings.quick,
            "backend": settings.backend,
            "workers": settings.workers,
        },
    )
    data = ForecastData.from_run(out_dir, cfg.dataset.areas.projected_crs)
    return federate(data, settings, training, out_dir, say=say, verbose=verbose)


__all__ = [
    "FederatedResult",
    "FederatedSettings",
    "budget_training",
    "federate",
    "initial_weights",
    "run_federated",
]
