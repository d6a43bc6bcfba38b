"""The policy study on a run directory (``fase simulate --study``, part of ``fase run``):
the same simulation under every allocation policy, with and without a patrol floor,
tabulated as detection gap against coverage and DIR.

Variants: each policy of :data:`fase.allocation.POLICIES` (paper, proportional,
diminishing, detection_parity) with floor 0 and, unless the share is 0, with floor
f = share·B/N (a share of the budget spread evenly over the N areas;
``simulation.study_floor_share``: 0.25, and 0 in the default preset's ``fase run``).
Each variant writes its own ``simulation/<mode>-<policy>[-floor]/``; the study writes
``simulation/policy_study.csv`` and ``.md`` with one row per variant: the means over
cycles of the history columns in :data:`STUDY_COLUMNS` (replicate means when R > 1).

The variants are independent (each starts from the trained weights with the run's
seed). On a CPU, ``workers`` > 1 runs them in that many processes, one torch thread
each: the batch-of-one forecasts and retraining of a simulation use one core well and
two badly, so two processes on two cores finish the study about twice as fast. On a
GPU (or with one worker) every variant × replicate advances in lockstep and retrains as
one batched model (``simulation.batched``; :mod:`fase.simulation.runner`), which fills
the device where one batch-of-one step would leave it idle; on two CPU cores batching
buys little (docs/simulation.md). Unbatched, the processes give the numbers of a serial
run exactly; batched, the numbers agree with them up to float32 rounding of the
retraining, and the same seed gives the same numbers.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from fase.allocation.policies import POLICIES
from fase.config.allocation import AllocationConfig
from fase.config.simulation import SimulationConfig
from fase.io import write_text
from fase.phases.simulate import (
    SimulationRun,
    run_simulation,
    run_simulations,
    scenario_name,
    simulation_device,
)

STUDY_COLUMNS = (
    "detection_gap",
    "detection_min",
    "detection_maj",
    "coverage_mean",
    "risk_share_mean",
    "dir_mean",
    "dir_std",
    "gini_mean",
    "patrolled_areas_mean",
    "patrol_share_minority",
    "forecast_mae_true",
    "forecast_nll_true",
)


def study_variants(base: AllocationConfig, floor: float) -> list[AllocationConfig]:
    """Every policy without a floor, then with ``floor`` (skipped when floor = 0)."""
    floors = (0.0, floor) if floor > 0 else (0.0,)
    return [
        base.model_copy(update={"policy": policy, "floor": f})
        for policy in POLICIES
        for f in floors
    ]


def study_row(name: str, allocation: AllocationConfig, history: pd.DataFrame) -> dict:
    """One table row: the variant, its floor, and the mean over cycles of each column."""
    row: dict = {"scenario": name, "policy": allocation.policy, "floor": allocation.floor}
    row.update({column: float(history[column].mean()) for column in STUDY_COLUMNS})
    return row


def study_markdown(table: pd.DataFrame, sim: SimulationConfig) -> str:
    """The study table as Markdown, with the simulation settings in one line."""
    header = (
        f"# Policy study ({sim.mode} mode, {sim.cycles} cycles, {sim.detection} detection, "
        f"{sim.replicates} replicate(s))\n\nMeans over cycles. detection_gap = "
        "detection_min − detection_maj (realised rates); coverage = μᵀp/(B·max μ).\n\n"
    )
    columns = ["scenario", "floor", "detection_gap", "coverage_mean", "dir_mean", "gini_mean"]
    lines = ["| " + " | ".join(columns) + " |", "|---|" + "---:|" * (len(columns) - 1)]
    for _, row in table.iterrows():
        cells = [str(row["scenario"])] + [f"{row[c]:.4f}" for c in columns[1:]]
        lines.append("| " + " | ".join(cells) + " |")
    return header + "\n".join(lines) + "\n"


def run_policy_study(
    run: SimulationRun,
    sim: SimulationConfig,
    base: AllocationConfig,
    *,
    floor_share: float = 0.25,
    device: str | None = None,
    workers: int = 1,
    on_variant: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Simulate every variant and write ``simulation/policy_study.csv`` / ``.md``.

    ``device``: cpu, cuda or auto (default: the run's ``training.device``). On a CPU
    with ``workers`` > 1: that many processes with one torch thread each (module
    docstring), ``on_variant`` called as each variant finishes. Otherwise, with
    ``sim.batched`` (on a GPU, or with one worker), every variant × replicate runs in
    this process in lockstep and retrains as one batched model
    (:func:`fase.phases.simulate.run_simulations`), ``on_variant`` called as the
    variants finish, together; without, one variant after another, ``on_variant``
    called as each starts. A model other than the run's own
    (:meth:`SimulationRun.with_model`) lives in this process only: its variants run
    here, named ``…-<model>``.
    """
    floor = floor_share * base.budget / run.world.n_areas
    own = run.model == run.trained.cfg.forecaster
    model = None if own else run.model
    variants = [(scenario_name(sim, a, model), a) for a in study_variants(base, floor)]
    histories: dict[str, pd.DataFrame] = {}
    if workers > 1 and simulation_device(run, device).type == "cpu" and own:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {
                name: pool.submit(_simulate_variant, run.trained.run.root, sim, allocation, name)
                for name, allocation in variants
            }
            for name, future in futures.items():
                histories[name] = future.result()
                if on_variant is not None:
                    on_variant(name)
    elif sim.batched:
        results = run_simulations(run, sim, variants, device=device)
        for (name, _), (result, _) in zip(variants, results, strict=True):
            histories[name] = result.history
            if on_variant is not None:
                on_variant(name)
    else:
        for name, allocation in variants:
            if on_variant is not None:
                on_variant(name)
            result, _ = run_simulation(run, sim, allocation, name=name, device=device)
            histories[name] = result.history
    rows = [study_row(name, allocation, histories[name]) for name, allocation in variants]
    table = pd.DataFrame(rows)
    files = run.trained.run
    write_text(files.policy_study_csv, table.to_csv(index=False))
    write_text(files.policy_study_md, study_markdown(table, sim))
    return table


def _simulate_variant(
    run_dir: Path, sim: SimulationConfig, allocation: AllocationConfig, name: str
) -> pd.DataFrame:
    """One variant in a worker process (one torch thread): its history table."""
    from fase.runtime import configure_threads

    configure_threads(1)
    result, _ = run_simulation(
        SimulationRun.load(run_dir), sim, allocation, name=name, device="cpu"
    )
    return result.history
