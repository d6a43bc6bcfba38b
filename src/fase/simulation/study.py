"""Policy study: the same simulation under every allocation policy, with and without a
patrol floor, tabulated as detection gap against coverage and DIR.

Variants: each policy of :data:`fase.allocation.POLICIES` (paper, proportional,
diminishing, detection_parity) with floor 0 and with floor f = share·B/N (a share of
the budget spread evenly over the N areas; default share 0.25). Each variant writes its
own ``simulation/<mode>-<policy>[-floor]/``; the study writes
``simulation/policy_study.csv`` and ``.md`` with one row per variant: the means over
cycles of the history columns in :data:`STUDY_COLUMNS` (replicate means when R > 1).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from fase.allocation.policies import POLICIES
from fase.config.allocation import AllocationConfig
from fase.config.simulation import SimulationConfig
from fase.io import write_text
from fase.simulation.artefacts import SIMULATION_DIR
from fase.simulation.phase import TrainedRun, run_simulation, scenario_name

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
    run: TrainedRun,
    sim: SimulationConfig,
    base: AllocationConfig,
    *,
    floor_share: float = 0.25,
    device: str = "cpu",
    on_variant: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Simulate every variant and write ``simulation/policy_study.csv`` / ``.md``."""
    floor = floor_share * base.budget / run.world.n_areas
    rows = []
    for allocation in study_variants(base, floor):
        name = scenario_name(sim, allocation)
        if on_variant is not None:
            on_variant(name)
        result, _ = run_simulation(run, sim, allocation, name=name, device=device)
        rows.append(study_row(name, allocation, result.history))
    table = pd.DataFrame(rows)
    out = run.run_dir / SIMULATION_DIR
    write_text(out / "policy_study.csv", table.to_csv(index=False))
    write_text(out / "policy_study.md", study_markdown(table, sim))
    return table
