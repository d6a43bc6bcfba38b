"""Phase 5 on a run directory: load the trained run, simulate, write the artefacts.

Reads ``config.yaml``, ``data/`` (tensors, meta), ``graph/graph.npz`` and
``checkpoints/best.pt`` (written by ``fase train``); writes
``simulation/<name>/`` (:mod:`fase.simulation.artefacts`). The model is rebuilt with the
training code's own builder and loaded with its checkpoint reader.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from fase.allocation.groups import Groups
from fase.allocation.policies import make_policy
from fase.config import RunConfig, parse_duration
from fase.config.allocation import AllocationConfig
from fase.config.simulation import SimulationConfig
from fase.data.pipeline import feature_spec
from fase.data.tensors import Tensors
from fase.errors import FaseInputError
from fase.graph import Graph
from fase.models.fase import FASEModel
from fase.simulation.artefacts import SIMULATION_DIR, write_simulation
from fase.simulation.forecaster import TorchForecaster
from fase.simulation.params import FeatureMap, Params, World
from fase.simulation.runner import CycleCallback, SimulationResult, simulate
from fase.training.checkpoint import BEST, CHECKPOINT_DIR, load_checkpoint
from fase.training.pipeline import build_fase_model, forecast_warmup, load_run_config


@dataclass(frozen=True)
class TrainedRun:
    """A run directory's configuration, world and trained model (best checkpoint)."""

    run_dir: Path
    cfg: RunConfig
    tensors: Tensors
    world: World
    model: FASEModel


def build_world(tensors: Tensors, cfg: RunConfig) -> World:
    """The simulated city of a run: true counts, their features, groups, feature builder."""
    meta = tensors.meta
    try:
        groups = Groups.from_labels(meta["groups"])
    except (KeyError, ValueError) as exc:
        raise FaseInputError("data/meta.json", f"no usable 'groups' list ({exc})") from exc
    spec = feature_spec(cfg, parse_duration(meta["bin"], "data/meta.json bin"))
    static = np.asarray(meta["static"], dtype=float)
    features = FeatureMap(spec, tensors.starts(), static, meta["scaler"])
    return World(
        tensors.y.astype(np.float64),
        tensors.scaled_x(),
        groups,
        features,
        np.asarray(tensors.bin_start, np.int64),
    )


def load_trained_run(run_dir: str | Path) -> TrainedRun:
    """Read everything a simulation needs from a run trained with ``fase train``."""
    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir)
    for needed in ("data/tensors.npz", "data/meta.json", "graph/graph.npz"):
        if not (run_dir / needed).is_file():
            raise FaseInputError(run_dir / needed, "not found", "run `fase train` on it first")
    tensors = Tensors.load(run_dir / "data")
    graph = Graph.load(run_dir / "graph" / "graph.npz")
    model = build_fase_model(cfg, graph, tensors)
    state = load_checkpoint(run_dir / CHECKPOINT_DIR / BEST)
    try:
        model.load_state_dict(state["model"])
    except (KeyError, RuntimeError) as exc:
        raise FaseInputError(
            run_dir / CHECKPOINT_DIR / BEST, f"does not fit the run's model ({exc})"
        ) from exc
    return TrainedRun(run_dir, cfg, tensors, build_world(tensors, cfg), model)


def make_params(sim: SimulationConfig, allocation: AllocationConfig, run: TrainedRun) -> Params:
    """Params of a run: the test split's start, its length (paper) or ``sim.period`` bins."""
    test_start, test_end = run.tensors.split["test"]
    if sim.mode == "paper":
        period = test_end - test_start
    else:
        period = sim.period_bins(run.tensors.meta["bin"])
        fits = (run.world.n_bins - test_start) // period
        if fits < sim.cycles:
            raise FaseInputError(
                "--cycles",
                f"{sim.cycles} periods of {sim.period} need {sim.cycles * period} bins after "
                f"the test start; the data have {run.world.n_bins - test_start}",
                f"use at most {fits} cycles or a shorter --period",
            )
    training = run.cfg.training
    return Params(
        mode=sim.mode,
        cycles=sim.cycles,
        start=test_start,
        period_bins=period,
        budget=allocation.budget,
        p_base=sim.p_base,
        p_max=sim.p_max,
        detection=sim.detection,
        risk="mu" if sim.mode == "paper" else allocation.risk,
        retrain_epochs=sim.retrain_epochs,
        retrain_window=sim.retrain_window,
        retrain_batch=sim.retrain_batch,
        lr=training.lr,
        weight_decay=training.weight_decay,
        grad_clip=training.grad_clip,
        loss_reduction=training.loss_reduction,
        forecast_block=sim.forecast_block,
    )


def scenario_name(sim: SimulationConfig, allocation: AllocationConfig) -> str:
    """Default folder name: ``<mode>-<policy>`` (+ ``-floor`` with a patrol floor)."""
    return f"{sim.mode}-{allocation.policy}" + ("-floor" if allocation.floor > 0 else "")


def forecaster_factory(
    run: TrainedRun, params: Params, device: str
) -> Callable[[int], TorchForecaster]:
    """Fresh copies of the trained model, one per replicate seed."""
    base = TorchForecaster(
        run.model,
        warmup=forecast_warmup(run.model),
        lr=params.lr,
        weight_decay=params.weight_decay,
        grad_clip=params.grad_clip,
        reduction=params.loss_reduction,
        device="cpu",
    )
    return lambda seed: base.clone(seed, device)


def run_simulation(
    run: TrainedRun,
    sim: SimulationConfig,
    allocation: AllocationConfig,
    *,
    name: str | None = None,
    device: str = "cpu",
    on_cycle: CycleCallback | None = None,
) -> tuple[SimulationResult, Path]:
    """Simulate one policy on a trained run and write ``simulation/<name>/``.

    The detection model of the world (``sim.p_base``, ``sim.p_max``) is also the one the
    ``detection_parity`` policy plans with.
    """
    allocation = allocation.model_copy(update={"p_base": sim.p_base, "p_max": sim.p_max})
    params = make_params(sim, allocation, run)
    if run.world.n_areas * allocation.floor > allocation.budget:
        raise FaseInputError(
            "--floor", f"{allocation.floor} × {run.world.n_areas} areas exceeds the budget"
        )
    result = simulate(
        params,
        run.world,
        forecaster_factory(run, params, device),
        make_policy(allocation),
        seed=run.cfg.seed,
        replicates=sim.replicates,
        interval=sim.interval,
        on_cycle=on_cycle,
    )
    settings = {
        "simulation": sim.model_dump(mode="json"),
        "allocation": allocation.model_dump(mode="json"),
        "params": asdict(params),
        "seed": run.cfg.seed,
        "device": device,
        "torch": torch.__version__,
    }
    out_dir = run.run_dir / SIMULATION_DIR / (name or scenario_name(sim, allocation))
    write_simulation(out_dir, result, run.world.bin_start, settings)
    return result, out_dir
