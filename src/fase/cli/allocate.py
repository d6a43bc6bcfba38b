"""``fase allocate RUN_DIR``: Phase 4, fairness-constrained patrol allocation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from fase.config.allocation import AllocationConfig
from fase.errors import FaseInputError


def _config(settings: dict[str, Any]) -> AllocationConfig:
    """Validate the options; a bad value is reported against its ``--option``."""
    try:
        return AllocationConfig(**settings)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "policy"
        option = "--no-dir" if field == "epsilon" and settings["epsilon"] is None else field
        raise FaseInputError(f"--{option.lstrip('-').replace('_', '-')}", error["msg"]) from None


def allocate_command(
    run_dir: Annotated[
        Path, typer.Argument(help="Run directory with forecast/forecast.npz and data/meta.json.")
    ],
    policy: Annotated[
        str,
        typer.Option(help="Policy: paper, proportional, diminishing or detection_parity."),
    ] = "paper",
    risk: Annotated[
        Path | None,
        typer.Option(help="A .npz with a (T, N) risk matrix, instead of RUN_DIR/forecast."),
    ] = None,
    risk_key: Annotated[
        str | None, typer.Option(help="Array name in the risk file (default: --risk-kind).")
    ] = None,
    risk_kind: Annotated[
        str,
        typer.Option(
            help="Forecast to allocate on: expected ((1−π)·μ) or mu (the paper's NB mean)."
        ),
    ] = "expected",
    budget: Annotated[float, typer.Option(help="Patrol units per step (B).")] = 60.0,
    epsilon: Annotated[
        float, typer.Option(help="DIR tolerance ε: (1−ε)·p̄_maj ≤ p̄_min ≤ (1+ε)·p̄_maj.")
    ] = 0.05,
    no_dir: Annotated[bool, typer.Option("--no-dir", help="Drop the DIR constraint.")] = False,
    cap: Annotated[
        float | None, typer.Option(help="Maximum patrol units per area (default: none).")
    ] = None,
    floor: Annotated[float, typer.Option(help="Minimum patrol units per area.")] = 0.0,
    kappa: Annotated[
        float, typer.Option(help="diminishing: patrol at which an area's coverage reaches 63%.")
    ] = 5.0,
    detection_tolerance: Annotated[
        float, typer.Option(help="detection_parity: max |D_min − D_maj| (rate units).")
    ] = 0.05,
    p_base: Annotated[float, typer.Option(help="Detection probability with no patrol.")] = 0.30,
    p_max: Annotated[float, typer.Option(help="Detection probability at the full budget.")] = 0.90,
) -> None:
    """Allocate patrols for every forecast step; write RUN_DIR/allocation/<policy>/."""
    from fase.allocation.phase import run_allocation

    config = _config(
        {
            "policy": policy,
            "budget": budget,
            "epsilon": None if no_dir else epsilon,
            "cap": cap,
            "floor": floor,
            "kappa": kappa,
            "detection_tolerance": detection_tolerance,
            "p_base": p_base,
            "p_max": p_max,
            "risk": risk_kind,
        }
    )
    result = run_allocation(run_dir, config, risk, risk_key)
    stats = result.summary["metrics"]
    typer.echo(
        f"{config.policy}: {result.summary['steps']} steps × {result.summary['areas']} areas "
        f"in {result.summary['seconds']:.3f} s; DIR {stats['dir']['mean']:.4f} "
        f"± {stats['dir']['std']:.4f}, Gini {stats['gini']['mean']:.4f}, "
        f"coverage {stats['coverage']['mean']:.4f}, "
        f"detection gap {stats['detection_gap']['mean']:+.4f}"
    )
    typer.echo(f"wrote {result.out_dir}")
