"""``fase run``: every phase in order on one run directory, timing each.

    data → graph → train → evaluate → allocate → simulate → policy study → report

Each phase reads the artefacts of the previous ones from the run directory, so any
phase can also be re-run alone with its own command. The forecaster is the run's
``forecaster`` (FASE unless ``--model`` names another registered model).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from fase.config import RunConfig
from fase.phases.allocate import run_allocation, run_tradeoff
from fase.phases.data import run_data_phases
from fase.phases.evaluate import evaluate_run
from fase.phases.policy_study import run_policy_study
from fase.phases.simulate import SimulationRun, run_simulation, scenario_name
from fase.phases.train import train_run
from fase.progress import Say
from fase.report.build import build_report
from fase.rundir import RunDir


@dataclass
class PipelineResult:
    """Where the report is, the wall time of each phase (s) and headline numbers."""

    run_dir: Path
    report: Path
    seconds: dict[str, float] = field(default_factory=dict)
    headline: dict[str, str] = field(default_factory=dict)


def run_pipeline(
    cfg: RunConfig, run_dir: Path, say: Say, progress: bool | None = None
) -> PipelineResult:
    """Run Phases 1–5 and the report for ``cfg`` into ``run_dir``."""
    run = RunDir(run_dir)
    seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def phase(name: str) -> Iterator[None]:
        say(f"{name} …")
        start = time.perf_counter()
        yield
        seconds[name] = time.perf_counter() - start
        say(f"{name}: {seconds[name]:.1f} s")

    run.root.mkdir(parents=True, exist_ok=True)
    run.record(cfg, "fase run")
    with phase("Phases 1–2: data and graph"):
        data = run_data_phases(cfg, run.root)
    for warning in data.phase1.warnings:
        say(f"warning: {warning}")
    with phase("Phase 3: training"):
        training = train_run(cfg, run.root, progress=progress)
    with phase("Phase 3: evaluation"):
        evaluation = evaluate_run(run.root)
    with phase("Phase 4: allocation"):
        allocation = run_allocation(run.root, cfg.allocation, None, None)
        run_tradeoff(run.root, cfg.allocation)
    simulation = SimulationRun.load(run.root)
    history = None
    if cfg.simulation.mode == "rolling" and cfg.simulation.policy_study:
        # The study's variants include the configured policy: no need to simulate it twice.
        with phase("Phase 5: simulation and policy study"):
            study = run_policy_study(
                simulation,
                cfg.simulation,
                cfg.allocation,
                floor_share=cfg.simulation.study_floor_share,
                workers=cfg.training.threads,
            )
        main = scenario_name(cfg.simulation, cfg.allocation)
        if main in set(study["scenario"]):
            history = pd.read_csv(run.scenario(main).history)
    if history is None:
        with phase("Phase 5: simulation"):
            history = run_simulation(simulation, cfg.simulation, cfg.allocation)[0].history
    with phase("Report"):
        report = build_report(run.root)
    run.record(cfg, "fase run", {"seconds": seconds})

    counts = evaluation["overall"]["counts"]
    fit = training.report.training
    last = history.iloc[-1]
    y = data.phase1.tensors.y
    scored = "n/a (fitted in closed form)"
    if fit is not None:
        scored = f"{fit.scored_checkpoint} (epoch {fit.scored_epoch})"
    headline = {
        "areas × bins": f"{y.shape[0]} × {y.shape[1]:,} ({data.phase1.tensors.meta['bin']})",
        "forecaster": f"{cfg.forecaster} ({training.forecaster.num_parameters:,} parameters)",
        "scored checkpoint": scored,
        "test NLL / MAE": f"{counts['nll']:.4f} / {counts['mae']:.4f}",
        f"allocation ({cfg.allocation.policy}) DIR / Gini": (
            f"{allocation.summary['metrics']['dir']['mean']:.4f} / "
            f"{allocation.summary['metrics']['gini']['mean']:.4f}"
        ),
        f"last cycle detection min / maj ({cfg.simulation.mode})": (
            f"{last['detection_min']:.4f} / {last['detection_maj']:.4f}"
        ),
    }
    return PipelineResult(run.root, report, seconds, headline)
