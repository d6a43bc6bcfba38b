"""``fase train`` (Phase 3: train FASE, forecast val and test) and ``fase evaluate RUN_DIR``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fase.cli.options import ConfigOpt, DatasetOpt, PresetOpt, SeedOpt, build_config
from fase.errors import FaseInputError

OutOpt = Annotated[Path | None, typer.Option(help="Run directory (default: runs/<timestamp>).")]
ResumeOpt = Annotated[
    Path | None,
    typer.Option(help="Continue an interrupted run from RUN_DIR/checkpoints/last.pt."),
]
ThreadsOpt = Annotated[
    int | None, typer.Option("--threads", help="CPU threads for torch (default: training.threads).")
]
ProgressOpt = Annotated[
    bool | None,
    typer.Option("--progress/--no-progress", help="Progress bar (default: on a terminal)."),
]


def train_command(
    config: ConfigOpt = None,
    dataset: DatasetOpt = None,
    preset: PresetOpt = None,
    seed: SeedOpt = None,
    out: OutOpt = None,
    resume: ResumeOpt = None,
    threads: ThreadsOpt = None,
    progress: ProgressOpt = None,
) -> None:
    """Train FASE (building the data and graph first if the run has none) and forecast."""
    from fase.runinfo import new_run_dir, write_run_info
    from fase.training.pipeline import load_run_config, train_run

    if resume is not None:
        given = {"--config": config, "--dataset": dataset, "--preset": preset, "--seed": seed}
        clashing = [name for name, value in given.items() if value is not None]
        if clashing or (out is not None and out != resume):
            raise FaseInputError(
                "--resume",
                f"cannot be combined with {', '.join(clashing) or '--out'}",
                "a resumed run keeps its own config.yaml",
            )
        run_dir, cfg = resume, load_run_config(resume)
    else:
        cfg = build_config(dataset, preset, config, seed, {})
        run_dir = out if out is not None else new_run_dir()
        run_dir.mkdir(parents=True, exist_ok=True)
    if threads is not None:
        cfg = cfg.model_copy(
            update={"training": cfg.training.model_copy(update={"threads": threads})}
        )
    run = train_run(cfg, run_dir, resume=resume is not None, progress=progress)
    result = run.fit
    state = result.state
    summary = {
        "epochs": state.epoch,
        "stopped_early": state.stopped,
        "best_epoch": state.best_epoch,
        "best_val_nll": state.best_val_loss,
        "scored_checkpoint": result.scored_checkpoint,
        "scored_epoch": result.scored_epoch,
        "test_nll": result.test_loss,
        "seconds_per_epoch": result.seconds_per_epoch,
    }
    write_run_info(run_dir, cfg, "fase train" + (" --resume" if resume else ""), summary)
    stop = " (early stop)" if state.stopped else ""
    test = "n/a" if result.test_loss is None else f"{result.test_loss:.4f}"
    typer.echo(
        f"{cfg.preset}: {state.epoch} epochs{stop}, best epoch {state.best_epoch} "
        f"(val NLL {state.best_val_loss:.4f}); test NLL {test} "
        f"with the {result.scored_checkpoint} weights (epoch {result.scored_epoch}); "
        f"{result.seconds_per_epoch:.2f} s/epoch"
    )
    typer.echo(f"wrote {run_dir}")


def evaluate_command(
    run_dir: Annotated[Path, typer.Argument(help="Run directory with forecast/forecast.npz.")],
) -> None:
    """Score the test forecast (NLL, MAE/RMSE, hotspots, coverage); print the overall tables."""
    from fase.evaluation import markdown_table
    from fase.training.scoring import EVALUATION_DIR, evaluate_run

    report = evaluate_run(run_dir)
    overall = report["overall"]
    typer.echo(f"{report['bins']:,} bins × {report['nodes']} areas\n")
    sections = {"counts": "Count metrics", "hotspots": "Hotspots", "intervals": "Interval coverage"}
    for key, title in sections.items():
        rows = overall[key]
        typer.echo(f"{title}\n\n" + markdown_table(rows if isinstance(rows, list) else [rows]))
    typer.echo(f"wrote {run_dir / EVALUATION_DIR}")
