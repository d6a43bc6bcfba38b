"""``fase train`` (Phase 3: fit the run's model, forecast val and test) and
``fase evaluate RUN_DIR``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fase.cli.options import (
    CityFiles,
    ConfigOpt,
    DatasetOpt,
    DemographicsOpt,
    DeviceOpt,
    IncidentsOpt,
    ModelOpt,
    PolygonsOpt,
    PresetOpt,
    SeedOpt,
    build_config,
    check_device,
    check_out,
)
from fase.errors import FaseInputError

if TYPE_CHECKING:
    from fase.config import RunConfig
    from fase.phases.train import TrainingRun

OutOpt = Annotated[Path | None, typer.Option(help="Run directory (default: runs/<timestamp>).")]
ResumeOpt = Annotated[
    Path | None,
    typer.Option(help="Continue an interrupted run from RUN_DIR/checkpoints/last.pt."),
]
ThreadsOpt = Annotated[
    int | None,
    typer.Option(
        "--threads", help="CPU threads for torch per process (default: training.threads)."
    ),
]
ProgressOpt = Annotated[
    bool | None,
    typer.Option("--progress/--no-progress", help="Progress bar (default: on a terminal)."),
]
NprocOpt = Annotated[
    int,
    typer.Option(
        "--nproc",
        min=1,
        help="Data-parallel training processes on this machine (torchrun, DDP); --threads "
        "is then per process (default: training.threads // N).",
    ),
]
LoaderWorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--loader-workers",
        min=0,
        help="Processes gathering minibatches (default: training.loader_workers, 0).",
    ),
]


def train_command(
    config: ConfigOpt = None,
    dataset: DatasetOpt = None,
    incidents: IncidentsOpt = None,
    polygons: PolygonsOpt = None,
    demographics: DemographicsOpt = None,
    preset: PresetOpt = None,
    seed: SeedOpt = None,
    model: ModelOpt = None,
    out: OutOpt = None,
    resume: ResumeOpt = None,
    threads: ThreadsOpt = None,
    progress: ProgressOpt = None,
    nproc: NprocOpt = 1,
    device: DeviceOpt = None,
    loader_workers: LoaderWorkersOpt = None,
) -> None:
    """Fit the run's model (FASE unless --model names another; the data and graph are
    built first if the run has none) and forecast the validation and test splits.

    With ``--nproc N`` > 1 it relaunches itself under ``torchrun`` in N processes; a
    process that torchrun started (also by hand, on several machines) trains as its rank.
    """
    from fase.rundir import RunDir, new_run_dir
    from fase.training.distributed import launched_by_torchrun

    as_rank = launched_by_torchrun()
    if as_rank and nproc != 1:
        raise FaseInputError("--nproc", "is set by torchrun inside torchrun", "leave it out")
    chosen = {
        "--config": config,
        "--dataset": dataset,
        "--preset": preset,
        "--seed": seed,
        "--model": model,
        "--incidents": incidents,
        "--polygons": polygons,
        "--demographics": demographics,
    }
    if resume is not None:
        clashing = [name for name, value in chosen.items() if value is not None]
        if clashing or (out is not None and out != resume):
            raise FaseInputError(
                "--resume",
                f"cannot be combined with {', '.join(clashing) or '--out'}",
                "a resumed run keeps its own config.yaml",
            )
        run_dir, cfg = resume, RunDir(resume).load_config()
        relaunch = ["--resume", str(resume.resolve())]
    else:
        check_out(out)
        files = CityFiles(incidents, polygons, demographics)
        cfg = build_config(dataset, preset, config, seed, {}, model, files)
        if out is None and (nproc > 1 or as_rank):
            raise FaseInputError("--out", "is needed with several processes", "name a run dir")
        run_dir = out if out is not None else new_run_dir()
        check_out(run_dir, create=True)
        relaunch = [part for k, v in chosen.items() if v is not None for part in (k, str(v))]
        relaunch += ["--out", str(run_dir.resolve())]
    if threads is None and nproc > 1:
        threads = max(1, cfg.training.threads // nproc)
    cfg = _with_runtime(cfg, threads, device, loader_workers)
    if as_rank:
        _train_as_rank(cfg, run_dir, resume is not None, progress)
    elif nproc > 1:
        _launch(nproc, cfg, relaunch, progress)
    else:
        from fase.phases.train import train_run

        run = train_run(cfg, run_dir, resume=resume is not None, progress=progress)
        _report(run, cfg, run_dir, resume is not None, 1)


def _with_runtime(
    cfg: RunConfig, threads: int | None, device: str | None, loader_workers: int | None
) -> RunConfig:
    """``cfg`` with the settings that do not change the result overridden."""
    if device is not None:
        check_device(device)
    given = {"threads": threads, "device": device, "loader_workers": loader_workers}
    update = {name: value for name, value in given.items() if value is not None}
    return cfg.model_copy(update={"training": cfg.training.model_copy(update=update)})


def _launch(nproc: int, cfg: RunConfig, arguments: list[str], progress: bool | None) -> None:
    """Run ``fase train <arguments>`` in ``nproc`` processes under torchrun, each with the
    runtime settings of ``cfg`` (threads per process); exit with torchrun's status."""
    import subprocess

    import torch

    from fase.training.distributed import resolve_device, torchrun_command

    training = cfg.training
    if resolve_device(training.device).type == "cuda" and nproc > torch.cuda.device_count():
        raise FaseInputError(
            "--nproc",
            f"{nproc} processes need {nproc} GPUs; torch sees {torch.cuda.device_count()}",
            "use at most one process per GPU, or --device cpu",
        )
    arguments = ["train", *arguments, "--threads", str(training.threads)]
    arguments += ["--device", training.device, "--loader-workers", str(training.loader_workers)]
    if progress is not None:
        arguments.append("--progress" if progress else "--no-progress")
    env = {**os.environ, "OMP_NUM_THREADS": str(training.threads)}
    code = subprocess.run(torchrun_command(nproc, arguments), env=env, check=False).returncode
    if code:
        raise typer.Exit(code)


def _train_as_rank(cfg: RunConfig, run_dir: Path, resume: bool, progress: bool | None) -> None:
    """This torchrun worker's part: rank 0 builds missing data first, every rank trains,
    rank 0 alone writes the run info and prints the summary."""
    from fase.phases.data import ensure_data_phases
    from fase.phases.train import train_run
    from fase.training.distributed import init_from_env, shutdown

    sharding = init_from_env(cfg.training.device)
    try:
        if not resume:
            sharding.on_main(lambda: ensure_data_phases(cfg, run_dir))
        run = train_run(
            cfg, run_dir, resume=resume, progress=progress if sharding.is_main else False
        )
        if sharding.is_main:
            _report(run, cfg, run_dir, resume, sharding.world_size)
    finally:
        shutdown()


def _report(run: TrainingRun, cfg: RunConfig, run_dir: Path, resumed: bool, processes: int) -> None:
    """Write the run info and print the summary of a finished training."""
    from fase.rundir import RunDir

    result = run.report.training
    command = "fase train" + (f" --nproc {processes}" if processes > 1 else "")
    command += " --resume" if resumed else ""
    summary: dict[str, object] = {
        "model": cfg.forecaster,
        "parameters": run.forecaster.num_parameters,
        "seconds": run.report.seconds,
        "processes": processes,
        "device": cfg.training.device,
    }
    if result is None:  # fitted in closed form or by a deterministic optimiser
        RunDir(run_dir).record(cfg, command, summary)
        typer.echo(f"{cfg.forecaster}: fitted in {run.report.seconds:.1f} s")
        typer.echo(f"wrote {run_dir}")
        return
    state = result.state
    loss = "NLL" if run.forecaster.objective == "nll" else "MSE"
    summary |= {
        "epochs": state.epoch,
        "stopped_early": state.stopped,
        "best_epoch": state.best_epoch,
        "objective": run.forecaster.objective,
        "best_val_loss": state.best_val_loss,
        "scored_checkpoint": result.scored_checkpoint,
        "scored_epoch": result.scored_epoch,
        "test_loss": result.test_loss,
        "seconds_per_epoch": result.seconds_per_epoch,
    }
    RunDir(run_dir).record(cfg, command, summary)
    stop = " (early stop)" if state.stopped else ""
    test = "n/a" if result.test_loss is None else f"{result.test_loss:.4f}"
    typer.echo(
        f"{cfg.preset} {cfg.forecaster}: {state.epoch} epochs{stop}, best epoch "
        f"{state.best_epoch} (val {loss} {state.best_val_loss:.4f}); test {loss} {test} "
        f"with the {result.scored_checkpoint} weights (epoch {result.scored_epoch}); "
        f"{result.seconds_per_epoch:.2f} s/epoch"
    )
    typer.echo(f"wrote {run_dir}")


def evaluate_command(
    run_dir: Annotated[Path, typer.Argument(help="Run directory with forecast/forecast.npz.")],
) -> None:
    """Score the test forecast (NLL, MAE/RMSE, hotspots, coverage); print the overall tables."""
    from fase.phases.evaluate import evaluate_run
    from fase.rundir import RunDir
    from fase.tables import markdown_table

    report = evaluate_run(run_dir)
    overall = report["overall"]
    typer.echo(f"{report['bins']:,} bins × {report['nodes']} areas\n")
    sections = {"counts": "Count metrics", "hotspots": "Hotspots", "intervals": "Interval coverage"}
    for key, title in sections.items():
        rows = overall[key]
        typer.echo(f"{title}\n\n" + markdown_table(rows if isinstance(rows, list) else [rows]))
    typer.echo(f"wrote {RunDir(run_dir).evaluation_json.parent}")
    RunDir(run_dir).log_command("fase evaluate")
