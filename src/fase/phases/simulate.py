"""Phase 5 on a run directory (``fase simulate``): load the trained run, simulate, write
the artefacts.

Reads ``config.yaml``, ``data/``, ``graph/`` and ``model/`` (written by ``fase train``)
and writes ``simulation/<name>/`` (:mod:`fase.simulation.artefacts`). The forecaster is
the run's (:class:`fase.forecasters.TrainedRun`, any registered model); each replicate
retrains its own copy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from fase.allocation.policies import make_policy
from fase.config.allocation import AllocationConfig
from fase.config.simulation import SimulationConfig
from fase.errors import FaseInputError
from fase.forecasters import Forecaster, TrainedRun, create, forecaster_settings
from fase.progress import Say, silent
from fase.simulation.artefacts import write_simulation
from fase.simulation.params import Params, World, world_of
from fase.simulation.runner import CycleCallback, SimulationResult, simulate_policies
from fase.training.distributed import resolve_device


@dataclass(frozen=True)
class SimulationRun:
    """A trained run and the city it is deployed in."""

    trained: TrainedRun
    world: World

    @classmethod
    def load(cls, run_dir: str | Path) -> SimulationRun:
        trained = TrainedRun.load(run_dir)
        return cls(trained, world_of(trained.tensors, trained.cfg))

    @property
    def model(self) -> str:
        return self.trained.forecaster.name

    def with_model(self, name: str, say: Say = silent) -> SimulationRun:
        """The same run deployed with model ``name`` instead of its own: fitted now on the
        run's data with its ``training`` section and seed (checkpoints under
        ``models/<name>/<seed>/``)."""
        if name == self.model:
            return self
        cfg = self.trained.cfg
        forecaster = create(name, forecaster_settings(cfg))
        say(f"fitting {name} on the run's data …")
        out = self.trained.run.model_fit(name, cfg.seed)
        forecaster.fit(self.trained.data, seed=cfg.seed, out_dir=out.root)
        trained = replace(self.trained, forecaster=forecaster)
        return replace(self, trained=trained)


def make_params(sim: SimulationConfig, allocation: AllocationConfig, run: SimulationRun) -> Params:
    """Params of a run: the test split's start, its length (paper) or ``sim.period`` bins."""
    tensors, world = run.trained.tensors, run.world
    test_start, test_end = tensors.split["test"]
    if sim.mode == "paper":
        period = test_end - test_start
    else:
        period = sim.period_bins(tensors.meta["bin"])
        fits = (world.n_bins - test_start) // period
        if fits < sim.cycles:
            raise FaseInputError(
                "--cycles",
                f"{sim.cycles} periods of {sim.period} need {sim.cycles * period} bins after "
                f"the test start; the data have {world.n_bins - test_start}",
                f"use at most {fits} cycles or a shorter --period",
            )
    training = run.trained.cfg.training
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
        capture=sim.capture,
    )


def scenario_name(
    sim: SimulationConfig, allocation: AllocationConfig, model: str | None = None
) -> str:
    """Default folder name: ``<mode>-<policy>`` (+ ``-floor`` with a patrol floor, +
    ``-<model>`` when the simulated model is not the run's own)."""
    name = f"{sim.mode}-{allocation.policy}" + ("-floor" if allocation.floor > 0 else "")
    return name if model is None else f"{name}-{model}"


def simulation_device(run: SimulationRun, device: str | None = None) -> torch.device:
    """Where the simulation forecasts and retrains: ``device`` (cpu, cuda or auto), by
    default the run's ``training.device`` — the one setting that also places training."""
    return resolve_device(run.trained.cfg.training.device if device is None else device)


def forecaster_factory(run: SimulationRun, device: torch.device) -> Callable[[int], Forecaster]:
    """Fresh copies of the trained model on ``device``, one per replicate seed."""
    trained = run.trained.forecaster
    return lambda seed: trained.clone(seed, device)


def run_simulation(
    run: SimulationRun,
    sim: SimulationConfig,
    allocation: AllocationConfig,
    *,
    name: str | None = None,
    device: str | None = None,
    on_cycle: CycleCallback | None = None,
) -> tuple[SimulationResult, Path]:
    """Simulate one policy on a trained run and write ``simulation/<name>/``.

    ``device``: cpu, cuda or auto (default: the run's ``training.device``,
    :func:`simulation_device`). With ``sim.batched`` the replicates retrain as one
    batched model (:mod:`fase.simulation.runner`). The detection model of the world (``sim.p_base``,
    ``sim.p_max``) is also the one the ``detection_parity`` policy plans with.
    """
    callback = None if on_cycle is None else (lambda _, r, c, row: on_cycle(r, c, row))
    scenarios = [(name or scenario_name(sim, allocation, _model_suffix(run)), allocation)]
    return run_simulations(run, sim, scenarios, device=device, on_cycle=callback)[0]


def run_simulations(
    run: SimulationRun,
    sim: SimulationConfig,
    scenarios: Sequence[tuple[str, AllocationConfig]],
    *,
    device: str | None = None,
    on_cycle: Callable[[int, int, int, dict[str, float]], None] | None = None,
) -> list[tuple[SimulationResult, Path]]:
    """:func:`run_simulation` of every ``(name, allocation)`` scenario, all simulated in
    one lockstep run (:func:`fase.simulation.runner.simulate_policies`: with
    ``sim.batched``, every scenario × replicate retrains as one batched model);
    ``on_cycle(scenario, replicate, cycle, row)``. The scenarios may differ in their
    policy and floor only (one budget)."""
    allocations = [
        allocation.model_copy(update={"p_base": sim.p_base, "p_max": sim.p_max})
        for _, allocation in scenarios
    ]
    params = [make_params(sim, allocation, run) for allocation in allocations]
    if any(p != params[0] for p in params):
        raise ValueError("scenarios simulated together must share their simulation settings")
    placed = simulation_device(run, device)
    for allocation in allocations:
        if run.world.n_areas * allocation.floor > allocation.budget:
            raise FaseInputError(
                "--floor", f"{allocation.floor} × {run.world.n_areas} areas exceeds the budget"
            )
    results = simulate_policies(
        params[0],
        run.world,
        forecaster_factory(run, placed),
        [make_policy(allocation) for allocation in allocations],
        seed=run.trained.cfg.seed,
        replicates=sim.replicates,
        interval=sim.interval,
        on_cycle=on_cycle,
        batched=sim.batched,
    )
    written = []
    for (name, _), allocation, result in zip(scenarios, allocations, results, strict=True):
        settings = {
            "forecaster": run.trained.forecaster.name,
            "simulation": sim.model_dump(mode="json"),
            "allocation": allocation.model_dump(mode="json"),
            "params": asdict(params[0]),
            "seed": run.trained.cfg.seed,
            "device": str(placed),
            "torch": torch.__version__,
        }
        files = run.trained.run.scenario(name)
        write_simulation(files, result, run.world.bin_start, settings)
        written.append((result, files.directory))
    return written


def _model_suffix(run: SimulationRun) -> str | None:
    """The scenario suffix of a model other than the run's own (None for its own)."""
    return None if run.model == run.trained.cfg.forecaster else run.model
