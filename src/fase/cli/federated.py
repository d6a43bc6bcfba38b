"""``fase federated``: federated training over districts (Flower, simulation mode) and its
gap to centralised training on the same data and budget."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fase.cli.options import ConfigOpt, DatasetOpt, PresetOpt, SeedOpt, build_config
from fase.errors import FaseInputError

STRATEGIES = ("fedavg", "fedprox")
BACKENDS = ("inprocess", "ray")
DEFAULT_MU = 0.01


def federated_command(
    clients: Annotated[
        int, typer.Option(min=2, help="Clients: districts of contiguous areas (2 … areas).")
    ] = 4,
    rounds: Annotated[int, typer.Option(min=1, help="Federated rounds.")] = 5,
    model: Annotated[
        str, typer.Option(help="Neural model whose weights are shared by all areas.")
    ] = "dnn",
    strategy: Annotated[str, typer.Option(help="fedavg or fedprox.")] = "fedavg",
    mu: Annotated[
        float | None,
        typer.Option(help=f"FedProx proximal weight μ ≥ 0 (default {DEFAULT_MU}; fedprox only)."),
    ] = None,
    local_epochs: Annotated[
        int, typer.Option("--local-epochs", min=1, help="Epochs each client trains per round.")
    ] = 1,
    quick: Annotated[
        bool, typer.Option("--quick", help="Small model, every 8th window: a smoke run.")
    ] = False,
    backend: Annotated[
        str,
        typer.Option(
            help="inprocess (clients one by one in this process) or ray (Flower's Ray "
            "backend: training.threads actors in parallel)."
        ),
    ] = "inprocess",
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Show Flower's and Ray's logs.")
    ] = False,
    config: ConfigOpt = None,
    dataset: DatasetOpt = None,
    preset: PresetOpt = None,
    seed: SeedOpt = None,
    out: Annotated[
        Path | None, typer.Option(help="Output directory (default: runs/federated/<timestamp>).")
    ] = None,
) -> None:
    """Federate a forecaster over districts with Flower; compare with centralised training."""
    from fase.federated.local import LocalSetup, neural_forecaster
    from fase.federated.pipeline import FederatedSettings, run_federated
    from fase.runinfo import new_run_dir
    from fase.zoo.registry import ZooSettings, require_models

    require_models([model], "--model")
    if strategy not in STRATEGIES:
        raise FaseInputError("--strategy", f"unknown strategy {strategy!r}", f"use {STRATEGIES}")
    if backend not in BACKENDS:
        raise FaseInputError("--backend", f"unknown backend {backend!r}", f"use {BACKENDS}")
    if mu is not None and strategy != "fedprox":
        raise FaseInputError("--mu", "applies to --strategy fedprox only", "leave --mu out")
    cfg = build_config(dataset, preset, config, seed, {})
    neural_forecaster(LocalSetup(model, ZooSettings(cfg.training), cfg.seed))  # before the data
    settings = FederatedSettings(
        clients=clients,
        rounds=rounds,
        local_epochs=local_epochs,
        model=model,
        strategy="fedprox" if strategy == "fedprox" else "fedavg",
        mu=(DEFAULT_MU if mu is None else mu) if strategy == "fedprox" else 0.0,
        seed=cfg.seed,
        quick=quick,
        backend="ray" if backend == "ray" else "inprocess",
        workers=cfg.training.threads,
    )
    out_dir = out if out is not None else new_run_dir(root="runs/federated")
    console = Console(stderr=True)
    console.print(
        f"[bold]fase federated[/bold]: {model} over {clients} clients on {cfg.dataset.name} "
        f"→ {out_dir}"
    )
    run_federated(
        cfg, out_dir, settings, say=lambda msg: console.print(f"  {msg}"), verbose=verbose
    )
    typer.echo((out_dir / "summary.md").read_text(encoding="utf-8"))
    typer.echo(f"summary: {out_dir / 'summary.md'}")
