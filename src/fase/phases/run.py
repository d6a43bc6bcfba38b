"""``fase run``: every phase in order on one run directory, timing each.

    data → graph → train → evaluate → allocate → simulate → policy study → report

Each phase reads the artefacts of the previous ones from the run directory, so any
phase can also be re-run alone with its own command.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from fase.config import RunConfig
from fase.runinfo import write_run_info

Say = Callable[[str], None]


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
    from fase.allocation.phase import run_allocation
    from fase.phases import run_data_phases
    from fase.report.build import build_report
    from fase.simulation.artefacts import SIMULATION_DIR
    from fase.simulation.phase import load_trained_run, run_simulation, scenario_name
    from fase.simulation.study import run_policy_study
    from fase.training.pipeline import train_run
    from fase.training.scoring import evaluate_run

    seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def phase(name: str) -> Iterator[None]:
        say(f"{name} …")
        start = time.perf_counter()
        yield
        seconds[name] = time.perf_counter() - start
        say(f"{name}: {seconds[name]:.1f} s")

    run_dir.mkdir(parents=True, exist_ok=True)
    write_run_info(run_dir, cfg, "fase run")
    with phase("Phases 1–2: data and graph"):
        data = run_data_phases(cfg, run_dir)
    with phase("Phase 3: training"):
        training = train_run(cfg, run_dir, progress=progress)
    with phase("Phase 3: evaluation"):
        evaluation = evaluate_run(run_dir)
    with phase("Phase 4: allocation"):
        allocation = run_allocation(run_dir, cfg.allocation, None, None)
    trained = load_trained_run(run_dir)
    history = None
    if cfg.simulation.mode == "rolling" and cfg.simulation.policy_study:
        # The study's variants include the configured policy: no need to simulate it twice.
        with phase("Phase 5: simulation and policy study"):
            study = run_policy_study(
                trained,
                cfg.simulation,
                cfg.allocation,
                floor_share=cfg.simulation.study_floor_share,
                workers=cfg.training.threads,
            )
        main = scenario_name(cfg.simulation, cfg.allocation)
        if main in set(study["scenario"]):
            history = pd.read_csv(run_dir / SIMULATION_DIR / main / "history.csv")
    if history is None:
        with phase("Phase 5: simulation"):
            history = run_simulation(trained, cfg.simulation, cfg.allocation)[0].history
    with phase("Report"):
        report = build_report(run_dir)
    write_run_info(run_dir, cfg, "fase run", {"seconds": seconds})

    counts = evaluation["overall"]["counts"]
    fit = training.fit
    last = history.iloc[-1]
    y = data.phase1.tensors.y
    headline = {
        "areas × bins": f"{y.shape[0]} × {y.shape[1]:,} ({data.phase1.tensors.meta['bin']})",
        "scored checkpoint": f"{fit.scored_checkpoint} (epoch {fit.scored_epoch})",
        "test NLL / MAE": f"{counts['nll']:.4f} / {counts['mae']:.4f}",
        f"allocation ({cfg.allocation.policy}) DIR / Gini": (
            f"{allocation.summary['metrics']['dir']['mean']:.4f} / "
            f"{allocation.summary['metrics']['gini']['mean']:.4f}"
        ),
        f"last cycle detection min / maj ({cfg.simulation.mode})": (
            f"{last['detection_min']:.4f} / {last['detection_maj']:.4f}"
        ),
    }
    return PipelineResult(run_dir, report, seconds, headline)
