"""``fase allocate RUN_DIR``: Phase 4, fairness-constrained patrol allocation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from fase.config.allocation import AllocationConfig
from fase.config.loader import parse_yaml
from fase.errors import FaseInputError


def _config(settings: dict[str, Any]) -> AllocationConfig:
    """Validate the options; a bad value is reported against its ``--option``."""
    try:
        return AllocationConfig(**settings)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "policy"
        option = "--no-dir" if field == "epsilon" and settings.get("epsilon") is None else field
        raise FaseInputError(f"--{option.lstrip('-').replace('_', '-')}", error["msg"]) from None


def run_allocation_settings(run_dir: Path) -> dict[str, Any]:
    """The ``allocation`` section of ``RUN_DIR/config.yaml`` (empty if there is none)."""
    path = run_dir / "config.yaml"
    if not path.is_file():
        return {}
    content = parse_yaml(path.read_text(encoding="utf-8"), path) or {}
    if not isinstance(content, dict):
        raise FaseInputError(path, "is not a run configuration (no mapping of keys)")
    section = content.get("allocation") or {}
    if not isinstance(section, dict):
        raise FaseInputError(path, "its 'allocation' section is not a mapping of settings")
    return dict(section)


def allocate_command(
    run_dir: Annotated[
        Path, typer.Argument(help="Run directory with forecast/forecast.npz and data/meta.json.")
    ],
    policy: Annotated[
        str | None,
        typer.Option(help="Policy: paper, proportional, diminishing or detection_parity."),
    ] = None,
    risk: Annotated[
        Path | None,
        typer.Option(help="A .npz with a (T, N) risk matrix, instead of RUN_DIR/forecast."),
    ] = None,
    risk_key: Annotated[
        str | None, typer.Option(help="Array name in the risk file (default: --risk-kind).")
    ] = None,
    risk_kind: Annotated[
        str | None,
        typer.Option(
            help="Forecast to allocate on: expected ((1−π)·μ) or mu (the paper's NB mean)."
        ),
    ] = None,
    budget: Annotated[float | None, typer.Option(help="Patrol units per step (B).")] = None,
    epsilon: Annotated[
        float | None, typer.Option(help="DIR tolerance ε: (1−ε)·p̄_maj ≤ p̄_min ≤ (1+ε)·p̄_maj.")
    ] = None,
    no_dir: Annotated[bool, typer.Option("--no-dir", help="Drop the DIR constraint.")] = False,
    cap: Annotated[
        float | None, typer.Option(help="Maximum patrol units per area (default: none).")
    ] = None,
    floor: Annotated[float | None, typer.Option(help="Minimum patrol units per area.")] = None,
    kappa: Annotated[
        float | None,
        typer.Option(help="diminishing: patrol at which an area's coverage reaches 63%."),
    ] = None,
    detection_tolerance: Annotated[
        float | None, typer.Option(help="detection_parity: max |D_min − D_maj| (rate units).")
    ] = None,
    p_base: Annotated[
        float | None, typer.Option(help="Detection probability with no patrol.")
    ] = None,
    p_max: Annotated[
        float | None, typer.Option(help="Detection probability at the full budget.")
    ] = None,
    tradeoff: Annotated[
        bool,
        typer.Option(
            "--tradeoff",
            help="Also sweep every policy over its fairness tolerance: "
            "RUN_DIR/allocation/tradeoff.csv (coverage against |DIR − 1| and the detection gap).",
        ),
    ] = False,
) -> None:
    """Allocate patrols for every forecast step; write RUN_DIR/allocation/<policy>/.

    Settings not given as options come from the run's resolved config (its
    ``allocation`` section), else from the defaults.
    """
    from fase.phases.allocate import run_allocation, run_tradeoff
    from fase.rundir import RunDir

    given = {
        "policy": policy,
        "budget": budget,
        "epsilon": epsilon,
        "cap": cap,
        "floor": floor,
        "kappa": kappa,
        "detection_tolerance": detection_tolerance,
        "p_base": p_base,
        "p_max": p_max,
        "risk": risk_kind,
    }
    settings = {
        **run_allocation_settings(run_dir),
        **{k: v for k, v in given.items() if v is not None},
    }
    if no_dir:
        settings["epsilon"] = None
    config = _config(settings)
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
    RunDir(run_dir).log_command("fase allocate", {"policy": config.policy, "tradeoff": tradeoff})
    if tradeoff:
        table = run_tradeoff(run_dir, config, risk, risk_key)
        typer.echo(
            f"trade-off: {table['policy'].nunique()} policies × {table['tolerance'].nunique()} "
            f"tolerances; wrote {run_dir / 'allocation' / 'tradeoff.csv'}"
        )
