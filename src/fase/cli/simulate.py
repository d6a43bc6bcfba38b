"""``fase simulate RUN_DIR``: Phase 5, the deployment feedback simulation (and policy study)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ValidationError

from fase.cli.options import DeviceOpt, check_device
from fase.config.allocation import AllocationConfig
from fase.config.simulation import SimulationConfig
from fase.errors import FaseInputError


def _validated(cls: type[BaseModel], base: BaseModel, changes: dict[str, Any]) -> Any:
    """``base`` with ``changes`` applied and validated; a bad value names its ``--option``."""
    try:
        return cls.model_validate({**base.model_dump(), **changes})
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "replicates"
        raise FaseInputError(f"--{field.replace('_', '-')}", error["msg"]) from None


def _given(**options: Any) -> dict[str, Any]:
    return {k: v for k, v in options.items() if v is not None}


def simulate_command(
    run_dir: Annotated[Path, typer.Argument(help="A run trained with `fase train` (its model/).")],
    mode: Annotated[
        str | None,
        typer.Option(help="rolling (corrected, default) or paper (the reference's leaky loop)."),
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option(
            help="paper, proportional, diminishing or detection_parity "
            "(default: the run's; paper in --mode paper)."
        ),
    ] = None,
    cycles: Annotated[int | None, typer.Option(help="Deployment cycles K.")] = None,
    replicates: Annotated[
        int | None, typer.Option(help="Replicates R (binomial detection only).")
    ] = None,
    detection: Annotated[
        str | None, typer.Option(help="expected (y·d) or binomial (Binomial(y, d)).")
    ] = None,
    period: Annotated[
        str | None, typer.Option(help="rolling: length of a deployment period, e.g. 7d.")
    ] = None,
    retrain_epochs: Annotated[
        int | None, typer.Option(help="Fine-tuning epochs per cycle.")
    ] = None,
    retrain_window: Annotated[
        int | None, typer.Option(help="Bins per fine-tuning window (non-overlapping).")
    ] = None,
    floor: Annotated[float | None, typer.Option(help="Minimum patrol units per area.")] = None,
    name: Annotated[
        str | None, typer.Option(help="Output folder under simulation/ (default: mode-policy).")
    ] = None,
    study: Annotated[
        bool,
        typer.Option(
            "--study", help="Run every policy (and each with a patrol floor, see --floor-share)."
        ),
    ] = False,
    floor_share: Annotated[
        float | None,
        typer.Option(
            help="--study: also every policy with floor = share × budget / areas, 0 for none "
            "(default: simulation.study_floor_share)."
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Registered model to deploy (default: the run's own; another one is "
            "fitted on the run's data first, and its scenarios end in -<model>).",
        ),
    ] = None,
    device: DeviceOpt = None,
    threads: Annotated[int | None, typer.Option(help="CPU threads for torch.")] = None,
) -> None:
    """Simulate K deployment cycles; write RUN_DIR/simulation/<name>/ (or the policy study).

    Settings not given as options come from the run's resolved config (its
    ``simulation`` and ``allocation`` sections), else from the defaults.
    """
    from fase.forecasters import require_models
    from fase.phases.policy_study import run_policy_study
    from fase.phases.simulate import SimulationRun, run_simulation
    from fase.runtime import configure_threads

    if model is not None:
        require_models([model], "--model", deployable=True)
    if name is not None and (name in ("", ".", "..") or Path(name).name != name or "\\" in name):
        raise FaseInputError(
            "--name",
            f"{name!r} is not a plain folder name",
            "give a name such as my-scenario: the scenario is written to RUN_DIR/simulation/NAME/",
        )
    run = SimulationRun.load(run_dir)
    cfg = run.trained.cfg
    configure_threads(threads or cfg.training.threads)
    device = check_device(device or cfg.training.device)
    base_sim = cfg.simulation
    sim_changes = _given(
        mode=mode,
        cycles=cycles,
        replicates=replicates,
        detection=detection,
        period=period,
        retrain_epochs=retrain_epochs,
        retrain_window=retrain_window,
    )
    if detection == "expected" and replicates is None:
        sim_changes["replicates"] = 1  # deterministic: one replicate
    sim: SimulationConfig = _validated(SimulationConfig, base_sim, sim_changes)
    paper_policy = {"policy": "paper"} if sim.mode == "paper" else {}
    allocation: AllocationConfig = _validated(
        AllocationConfig, cfg.allocation, {**paper_policy, **_given(policy=policy, floor=floor)}
    )
    if model is not None:
        run = run.with_model(model, say=typer.echo)

    def report(replicate: int, cycle: int, row: dict[str, float]) -> None:
        typer.echo(
            f"  replicate {replicate + 1} cycle {cycle + 1}: DIR {row['dir_mean']:.4f}, "
            f"coverage {row['coverage_mean']:.4f}, detection {row['detection_min']:.4f} / "
            f"{row['detection_maj']:.4f}, loss {row['loss_final']:.4f}"
        )

    if study:
        table = run_policy_study(
            run,
            sim,
            allocation,
            floor_share=sim.study_floor_share if floor_share is None else floor_share,
            device=device,
            workers=threads or cfg.training.threads,
            on_variant=lambda variant: typer.echo(f"simulated {variant}"),
        )
        typer.echo(table.to_string(index=False))
        typer.echo(f"wrote {run.trained.run.policy_study_csv}")
        run.trained.run.log_command(
            "fase simulate --study",
            {"mode": sim.mode, "replicates": sim.replicates, "device": device},
        )
        return
    result, out_dir = run_simulation(
        run, sim, allocation, name=name, device=device, on_cycle=report
    )
    typer.echo(
        f"{sim.mode}/{allocation.policy} with {run.model}: {sim.cycles} cycles × "
        f"{sim.replicates} replicate(s) in {result.seconds:.1f} s"
    )
    typer.echo(f"wrote {out_dir}")
    run.trained.run.log_command(
        "fase simulate",
        {"mode": sim.mode, "policy": allocation.policy, "replicates": sim.replicates,
         "model": run.model, "device": device, "seconds": {"simulation": result.seconds}},
    )  # fmt: skip
