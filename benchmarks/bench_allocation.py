"""Benchmark of the allocation policies (one CPU thread).

The paper's LP on the paper's test window (3,942 hourly steps × 25 areas) is solved
by the vectorised closed form and, for comparison, by a per-step HiGHS loop (one
model, re-solved with a new objective each step). The reference code solves it with
CVXPY/Clarabel per step, 1.62 ms/step, 6.4 s for the window (quoted from
docs/allocation.md; CVXPY is not installed here). Also timed: N = 1,000 areas,
T = 100,000 steps, a binding cap, and every other policy.

Run:  python benchmarks/bench_allocation.py   (writes benchmarks/results/allocation.json)
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from fase.allocation import (
    DetectionParityPolicy,
    DiminishingPolicy,
    Groups,
    PatrolLP,
    ProportionalPolicy,
    solve_dir_lp,
)
from fase.io import write_json

REFERENCE_SECONDS = 6.4  # CVXPY per-step loop of the reference code, 3,942 steps
REFERENCE_MS_PER_STEP = 1.62
RESULTS = Path(__file__).parent / "results" / "allocation.json"


def risk_matrix(steps: int, areas: int, rng: np.random.Generator) -> np.ndarray:
    """Hourly-count-like risk: per-area intensity × gamma noise, (steps, areas)."""
    intensity = rng.gamma(2.0, 0.1, areas)
    return intensity * rng.gamma(0.5, 2.0, (steps, areas))


def groups_for(areas: int, rng: np.random.Generator) -> Groups:
    """56% minority areas (14 of 25 in Baltimore), scattered."""
    minority = np.zeros(areas, dtype=bool)
    minority[rng.permutation(areas)[: round(areas * 14 / 25)]] = True
    return Groups.from_minority(minority)


def best_time(run: Callable[[], np.ndarray], repeats: int) -> tuple[float, np.ndarray]:
    """Fastest of ``repeats`` runs (seconds) and the last result."""
    best, result = np.inf, np.empty(0)
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    rng = np.random.default_rng(42)
    rows: list[dict] = []

    def record(name: str, steps: int, areas: int, seconds: float, **extra: float) -> None:
        rows.append(
            {
                "case": name,
                "steps": steps,
                "areas": areas,
                "seconds": seconds,
                "ms_per_step": 1e3 * seconds / steps,
                **extra,
            }
        )

    risk, groups = risk_matrix(3942, 25, rng), groups_for(25, rng)

    def paper(r: np.ndarray, g: Groups, cap: float | None = None) -> Callable[[], np.ndarray]:
        return lambda: solve_dir_lp(r, g.minority, 60.0, 0.05, cap, majority=g.majority)

    closed_s, exact = best_time(paper(risk, groups), 30)
    loop_s, looped = best_time(lambda: PatrolLP(groups, 60.0, 0.05).solve_steps(risk), 3)
    objective = (risk * exact).sum(1)
    gap = np.abs(objective - (risk * looped).sum(1)) / np.maximum(1.0, np.abs(objective))
    record(
        "paper LP, closed form",
        3942,
        25,
        closed_s,
        speedup_vs_reference=REFERENCE_SECONDS / closed_s,
    )
    record(
        "paper LP, per-step HiGHS loop", 3942, 25, loop_s, max_rel_objective_diff=float(gap.max())
    )
    rows.append(
        {
            "case": "paper LP, reference CVXPY loop (quoted, not run)",
            "steps": 3942,
            "areas": 25,
            "seconds": REFERENCE_SECONDS,
            "ms_per_step": REFERENCE_MS_PER_STEP,
        }
    )
    capped_s, _ = best_time(paper(risk, groups, cap=10.0), 10)
    record("paper LP, closed form, cap 10 (binding)", 3942, 25, capped_s)

    wide, wide_groups = risk_matrix(3942, 1000, rng), groups_for(1000, rng)
    wide_s, wide_exact = best_time(paper(wide, wide_groups), 5)
    record("paper LP, closed form", 3942, 1000, wide_s)
    sample = wide[:300]
    wide_loop_s, wide_looped = best_time(
        lambda: PatrolLP(wide_groups, 60.0, 0.05).solve_steps(sample), 1
    )
    wide_gap = np.abs((sample * wide_looped).sum(1) - (sample * wide_exact[:300]).sum(1)).max()
    record(
        "paper LP, per-step HiGHS loop (300 steps)",
        300,
        1000,
        wide_loop_s,
        max_abs_objective_diff=float(wide_gap),
    )
    long = risk_matrix(100_000, 25, rng)
    long_s, _ = best_time(paper(long, groups), 3)
    record("paper LP, closed form", 100_000, 25, long_s)

    for name, policy, repeats in (
        ("proportional (DIR ε = 0.05)", ProportionalPolicy(epsilon=0.05), 5),
        ("diminishing κ = 5 (no DIR)", DiminishingPolicy(epsilon=None), 3),
        ("diminishing κ = 5 (DIR ε = 0.05)", DiminishingPolicy(epsilon=0.05), 3),
        ("detection_parity η = 0.05 (HiGHS loop)", DetectionParityPolicy(), 1),
    ):
        seconds, _ = best_time(lambda p=policy: p.allocate(risk, groups), repeats)
        record(name, 3942, 25, seconds)

    payload = {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "threads": os.environ.get("OMP_NUM_THREADS"),
        },
        "reference_seconds_3942x25": REFERENCE_SECONDS,
        "speedup_closed_form_vs_reference": REFERENCE_SECONDS / closed_s,
        "speedup_closed_form_vs_highs_loop": loop_s / closed_s,
        "results": rows,
    }
    write_json(RESULTS, payload)
    print(f"{'case':<50} {'T':>7} {'N':>5} {'seconds':>9} {'ms/step':>9}")
    for row in rows:
        print(
            f"{row['case']:<50} {row['steps']:>7} {row['areas']:>5} "
            f"{row['seconds']:>9.4f} {row['ms_per_step']:>9.4f}"
        )
    print(
        f"closed form vs reference CVXPY (6.4 s): {REFERENCE_SECONDS / closed_s:,.0f}×; "
        f"vs per-step HiGHS: {loop_s / closed_s:,.0f}×; "
        f"max relative objective difference to HiGHS: {gap.max():.1e}"
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
