"""``fase compare``: the model-zoo leaderboard on one dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fase.cli.options import (
    CityFiles,
    ConfigOpt,
    DatasetOpt,
    DemographicsOpt,
    DeviceOpt,
    IncidentsOpt,
    PolygonsOpt,
    PresetOpt,
    SeedOpt,
    build_config,
    check_device,
    check_out,
)
from fase.config import parse_duration
from fase.errors import FaseInputError
from fase.rundir import RunDir, new_run_dir


def compare_command(
    models: Annotated[
        str, typer.Option(help="Comma-separated model names, or 'all' (see --list).")
    ] = "all",
    seeds: Annotated[
        int | None,
        typer.Option(min=1, help="Seeds per model, mean ± std (default 3: compare.seeds)."),
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="Small models, 2 epochs on few windows: a smoke run.")
    ] = False,
    epochs: Annotated[
        int | None,
        typer.Option(
            min=1, help="Training epochs of the neural models (default 15: compare.budget)."
        ),
    ] = None,
    explain: Annotated[
        bool | None,
        typer.Option(
            "--explain/--no-explain",
            help="Integrated-Gradients and SHAP attributions of every neural model, first "
            "seed (default: compare.explain).",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Processes (one torch thread each) sharing the fits (default: training.threads; "
            "1: one process with training.threads threads).",
        ),
    ] = None,
    bin: Annotated[
        str | None,
        typer.Option(
            "--bin",
            help="Time bin of the comparison, e.g. 1D or 1h (default: compare.bin, daily).",
        ),
    ] = None,
    tune: Annotated[
        bool,
        typer.Option(
            "--tune",
            help="Grid search per model on the validation split first (compare.tuning).",
        ),
    ] = False,
    benchmark: Annotated[
        str | None,
        typer.Option(
            "--benchmark",
            help="A published benchmark instead of a city (hagen-la, hagen-chicago, sthsl-chi, "
            "sthsl-nyc; fetch it first with `fase datasets fetch NAME`).",
        ),
    ] = None,
    list_models: Annotated[
        bool, typer.Option("--list", help="List the available models and exit.")
    ] = False,
    config: ConfigOpt = None,
    dataset: DatasetOpt = None,
    incidents: IncidentsOpt = None,
    polygons: PolygonsOpt = None,
    demographics: DemographicsOpt = None,
    preset: PresetOpt = None,
    seed: SeedOpt = None,
    out: Annotated[
        Path | None, typer.Option(help="Output directory (default: runs/compare/<timestamp>).")
    ] = None,
    device: DeviceOpt = None,
) -> None:
    """Fit every model on the same data and split; write the leaderboard (MD, CSV, figure)."""
    from fase.forecasters import available_models, compared_models, require_models
    from fase.phases.compare import run_compare

    if list_models:
        ranked = compared_models()
        for name in available_models():
            typer.echo(name if name in ranked else f"{name} (not in 'all': the run's own FASE)")
        return
    every = models == "all"
    chosen = compared_models() if every else [m.strip() for m in models.split(",") if m.strip()]
    if not chosen:
        raise FaseInputError("--models", f"{models!r} names no model", "see `fase compare --list`")
    require_models(chosen)
    check_out(out)
    overrides = {} if device is None else {"training": {"device": check_device(device)}}
    if bin is not None and benchmark is None:
        parse_duration(bin, "--bin")
    if benchmark is not None:
        _refuse_with_benchmark(
            dataset=dataset,
            incidents=incidents,
            polygons=polygons,
            demographics=demographics,
            bin=bin,
            tune=tune,
            explain=explain,
        )
        _compare_benchmark(
            benchmark, chosen, seeds, quick, epochs, workers, preset, config, seed, out, overrides
        )
        return
    cfg = build_config(
        dataset, preset, config, seed, overrides, files=CityFiles(incidents, polygons, demographics)
    )
    check_device(cfg.training.device)
    seeds = cfg.compare.seeds if seeds is None else seeds
    out_dir = out if out is not None else new_run_dir(root="runs/compare")
    console = Console(stderr=True)
    console.print(
        f"[bold]fase compare[/bold]: {len(chosen)} models × {seeds} seeds on "
        f"{cfg.dataset.name}, device {cfg.training.device} → {out_dir}"
    )
    result = run_compare(
        cfg,
        out_dir,
        chosen,
        seeds,
        quick=quick,
        epochs=epochs,
        explain=explain,
        workers=workers,
        bin=bin,
        tune_first=tune,
        optional_study_models=every,
        say=lambda msg: console.print(f"  {msg}"),
    )
    _show_leaderboard(out_dir, f"{len(result.leaderboard)} models")


def _refuse_with_benchmark(**options: object) -> None:
    """A benchmark brings its own data, bins and protocol: refuse the options that would
    not take effect."""
    given = [name for name, value in options.items() if value not in (None, False)]
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise FaseInputError(
            "--benchmark", f"{flags} do not apply to a benchmark (it brings its own data)"
        )


def _compare_benchmark(
    name: str,
    chosen: list[str],
    seeds: int | None,
    quick: bool,
    epochs: int | None,
    workers: int | None,
    preset: str | None,
    config: Path | None,
    seed: int | None,
    out: Path | None,
    overrides: dict[str, dict[str, str]],
) -> None:
    from fase.config.loader import available_benchmarks
    from fase.phases.benchmark import run_benchmark

    if name not in available_benchmarks():
        raise FaseInputError(
            "--benchmark", f"unknown benchmark {name!r}", f"choose from {available_benchmarks()}"
        )
    cfg = build_config(None, preset, config, seed, overrides)
    check_device(cfg.training.device)
    out_dir = out if out is not None else new_run_dir(root=f"runs/compare-{name}")
    console = Console(stderr=True)
    console.print(f"[bold]fase compare --benchmark {name}[/bold] → {out_dir}")
    result = run_benchmark(
        cfg,
        name,
        out_dir,
        chosen,
        seeds,
        quick=quick,
        epochs=epochs,
        workers=workers,
        say=lambda msg: console.print(f"  {msg}"),
    )
    _show_leaderboard(out_dir, f"{len(result.leaderboard)} rows")


def _show_leaderboard(out_dir: Path, size: str) -> None:
    """Print the leaderboard written to ``out_dir`` and where it is."""
    board = RunDir(out_dir).leaderboard_md
    typer.echo(board.read_text(encoding="utf-8"))
    typer.echo(f"leaderboard: {board} ({size})")
