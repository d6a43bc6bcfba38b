"""``fase compare``: every model on the same data, split and metrics, several seeds, one
leaderboard.

Builds Phases 1–2 (with crime-type channels, at the comparison's bin ``compare.bin``,
daily by default) into the output directory unless it has them, then for each model and
seed fits on the training split (validation for early stopping) and scores the test
split (:mod:`fase.forecasters.scores`: counts, risk levels with their confusion matrix,
fairness by group, per crime type), with the parameter count and training wall time.
Every neural model trains on the comparison's shared budget (``compare.budget``, or
``compare.quick_budget`` with ``--quick``). With ``compare.crime_types`` every model
forecasts each crime type and the total is the sum of the types.

On a data set whose incidents carry incident-level fields (the LAPD format), the models
that read the study's own input representation (``dnn_study``, ``crimenet_study``;
:mod:`fase.data.study_features`) are compared too; elsewhere they are left out of
``--models all`` (and refused by name).

``tune``: before the comparison, a grid search per model (``compare.tuning``) picks the
hyperparameters by validation loss (:func:`tune`); every seed then uses them.

With ``explain``, every neural count model fitted with the first seed is explained too:
Integrated-Gradients and SHAP attributions of its test forecasts
(:func:`fase.explain.write_explanation`) under ``explanations/<model>/``.

Models without randomness (the baselines and the Hawkes MLE) are fitted once and their
scores repeated for every seed (std 0, marked ``deterministic``).
"""

from __future__ import annotations

import itertools
import multiprocessing
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from fase.config import RunConfig
from fase.config.compare import TrainingBudget, TuningConfig
from fase.config.durations import parse_duration
from fase.config.training import TrainingConfig
from fase.errors import FaseInputError
from fase.evaluation.leaderboard import (
    leaderboard_markdown,
    leaderboard_table,
    per_type_markdown,
    per_type_table,
)
from fase.evaluation.levels import LEVELS, RiskLevels
from fase.explain import write_explanation
from fase.forecasters import (
    ForecastData,
    ForecasterSettings,
    NeuralForecaster,
    create,
    forecaster_settings,
)
from fase.forecasters.scores import score_model, training_levels
from fase.io import write_json, write_text
from fase.phases.data import ensure_data_phases
from fase.progress import Say, silent
from fase.report.leaderboard import leaderboard_figure
from fase.rundir import RunDir
from fase.runtime import configure_threads
from fase.training.distributed import resolve_device

R = TypeVar("R")
J = TypeVar("J", bound=Hashable)
DETERMINISTIC_FAMILIES = ("baseline",)
STUDY_INPUTS = "study"


@dataclass(frozen=True)
class Comparison:
    """Outputs of :func:`compare`.

    Attributes:
        runs: one row per (model, seed): every score, parameters, training seconds.
        leaderboard: mean and std per model, sorted by NLL.
        per_type: one row per (model, crime type): MAE, RMSE, NLL mean and std over seeds.
        confusion: one row per (model, true level, predicted level): cells summed over seeds.
        tuning: one row per grid point tried (empty without ``--tune``).
    """

    runs: pd.DataFrame
    leaderboard: pd.DataFrame
    per_type: pd.DataFrame
    confusion: pd.DataFrame
    tuning: pd.DataFrame


@dataclass(frozen=True)
class _Fit:
    """One fitted (model, seed): what the leaderboard needs of it."""

    family: str
    objective: str
    task: str
    scores: dict[str, float]
    per_type: dict[str, dict[str, float]]
    confusion: np.ndarray
    seconds: float
    parameters: int


@dataclass(frozen=True)
class _Bench:
    """What every fit of a comparison shares (sent once to each worker process).

    ``inputs``: the data each kind of model input reads (``area``; ``study`` when the
    data set has incident-level fields)."""

    inputs: Mapping[str, ForecastData]
    levels: RiskLevels
    settings: ForecasterSettings
    out: RunDir


def _fit_and_score(bench: _Bench, name: str, seed: int, explain: bool) -> _Fit:
    """Fit ``name`` with ``seed``, score it on the test split, explain it if asked."""
    model = create(name, bench.settings)
    data = bench.inputs[model.inputs]
    report = model.fit(data, seed=seed, out_dir=bench.out.model_fit(name, seed).root)
    scored = score_model(model, data, bench.levels)
    if explain and isinstance(model, NeuralForecaster) and model.task == "counts":
        write_explanation(model, data, bench.out.explanations(name))
    return _Fit(
        model.family,
        model.objective,
        model.task,
        scored.scores,
        scored.per_type,
        scored.confusion,
        report.seconds,
        model.num_parameters,
    )


_WORKER_SHARED: object = None


def _start_worker(shared: object) -> None:
    """Worker initialiser: one torch thread, and the shared inputs kept for every job."""
    global _WORKER_SHARED
    configure_threads(1)
    _WORKER_SHARED = shared


def _in_worker(work: Callable[..., R], *job: object) -> R:
    return work(_WORKER_SHARED, *job)


def default_workers(training: TrainingConfig) -> int:
    """Processes sharing the fits when none are asked for: one per torch thread on a CPU
    (``training.threads``); one on a GPU, where every fit runs in this process."""
    return 1 if resolve_device(training.device).type == "cuda" else training.threads


def run_jobs(
    work: Callable[..., R],
    shared: object,
    jobs: Sequence[J],
    workers: int,
    done: Callable[[J, R], None],
) -> dict[J, R]:
    """``work(shared, *job)`` for every job, in this process or in ``workers`` spawned
    processes of one torch thread each (``shared`` sent once to each; ``work`` a
    module-level function); ``done(job, result)`` as each finishes. The slowest jobs
    (listed last: the networks) are started first."""
    results: dict[J, R] = {}
    if workers > 1:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_start_worker, initargs=(shared,)
        ) as pool:
            futures = {pool.submit(_in_worker, work, *job): job for job in reversed(jobs)}
            for future in as_completed(futures):
                job = futures[future]
                results[job] = future.result()
                done(job, results[job])
    else:
        for job in jobs:
            results[job] = work(shared, *job)
            done(job, results[job])
    return results


def _is_deterministic(name: str, settings: ForecasterSettings) -> bool:
    """Whether model ``name`` has no randomness (fitted once, scores repeated per seed)."""
    return create(name, settings).family in DETERMINISTIC_FAMILIES


def _report(say: Say) -> Callable[[tuple[str, int, bool], _Fit], None]:
    def done(job: tuple[str, int, bool], fit: _Fit) -> None:
        name, seed, _ = job
        headline = (
            f"level NLL {fit.scores['level_nll']:.4f}"
            if fit.task == "levels"
            else f"NLL {fit.scores['nll']:.4f}, MAE {fit.scores['mae']:.4f}"
        )
        say(
            f"{name} seed {seed}: {headline}, Macro-F1 {fit.scores['macro_f1']:.3f}"
            f" (fitted in {fit.seconds:.1f} s)"
        )

    return done


def compare(
    inputs: Mapping[str, ForecastData],
    models: Sequence[str],
    seeds: Sequence[int],
    settings: ForecasterSettings,
    out_dir: Path,
    say: Say = silent,
    *,
    explain: bool = True,
    workers: int = 1,
    tuning: pd.DataFrame | None = None,
) -> Comparison:
    """Fit and score every model for every seed; write the leaderboard files to ``out_dir``
    (and, with ``explain``, the first seed's attributions of every neural model).

    ``inputs``: the data of each kind of model input (``"area"`` always). ``workers`` > 1
    runs the fits in that many processes of one torch thread each (the fits are
    independent); the numbers then differ from a one-process run only by float rounding.
    ``tuning``: the grid search's table, written beside the leaderboard.
    """
    out = RunDir(out_dir)
    bench = _Bench(inputs, training_levels(inputs["area"]), settings, out)
    deterministic = {name: _is_deterministic(name, settings) for name in models}
    jobs = [
        (name, seed, explain and seed == seeds[0])
        for name in models
        for seed in (seeds[:1] if deterministic[name] else seeds)
    ]
    results = run_jobs(_fit_and_score, bench, jobs, workers, _report(say))
    fits = {(name, seed): fit for (name, seed, _), fit in results.items()}

    rows: list[dict[str, object]] = []
    type_rows: list[dict[str, object]] = []
    confusion_rows: list[dict[str, object]] = []
    for name in models:
        for seed in seeds:
            fit = fits[name, seeds[0] if deterministic[name] else seed]
            rows.append(
                {
                    "model": name,
                    "family": fit.family,
                    "objective": fit.objective,
                    "task": fit.task,
                    "deterministic": deterministic[name],
                    "seed": seed,
                    **fit.scores,
                    "parameters": fit.parameters,
                    "train_seconds": fit.seconds,
                }
            )
            type_rows.extend(
                {"model": name, "seed": seed, "category": category, **values}
                for category, values in fit.per_type.items()
            )
            confusion_rows.extend(
                {
                    "model": name,
                    "seed": seed,
                    "true_level": t,
                    "predicted_level": p,
                    "cells": int(fit.confusion[t - 1, p - 1]),
                }
                for t in LEVELS
                for p in LEVELS
            )
    runs = pd.DataFrame(rows)
    confusion = (
        pd.DataFrame(confusion_rows)
        .groupby(["model", "true_level", "predicted_level"], sort=False)["cells"]
        .sum()
        .reset_index()
    )
    comparison = Comparison(
        runs,
        leaderboard_table(runs),
        per_type_table(pd.DataFrame(type_rows)),
        confusion,
        pd.DataFrame() if tuning is None else tuning,
    )
    write_comparison(comparison, out)
    return comparison


def write_comparison(comparison: Comparison, out: RunDir) -> None:
    """``leaderboard.{csv,md,json}``, ``runs.csv``, ``per_type.csv``,
    ``level_confusion.csv``, ``tuning.csv`` (with ``--tune``) and the figure."""
    write_text(out.compare_runs, comparison.runs.to_csv(index=False))
    write_text(out.leaderboard_csv, comparison.leaderboard.to_csv(index=False))
    markdown = leaderboard_markdown(comparison.leaderboard)
    if not comparison.per_type.empty:
        markdown += "\n" + per_type_markdown(comparison.per_type)
    write_text(out.leaderboard_md, markdown)
    write_json(out.leaderboard_json, comparison.leaderboard.to_dict(orient="records"))
    if not comparison.per_type.empty:
        write_text(out.per_type_scores, comparison.per_type.to_csv(index=False))
    write_text(out.level_confusion, comparison.confusion.to_csv(index=False))
    if not comparison.tuning.empty:
        write_text(out.tuning, comparison.tuning.to_csv(index=False))
    leaderboard_figure(comparison.leaderboard, out.leaderboard_figure)


def budget_training(
    training: TrainingConfig, budget: TrainingBudget, data: ForecastData, epochs: int | None
) -> TrainingConfig:
    """The run's training section with a comparison budget for ``data``'s training
    split (``epochs`` overrides the budget's)."""
    start, end = data.bounds("train")
    update = budget.training_overrides(end - start, training.window)
    if epochs is not None:
        update["epochs"] = epochs
    return training.model_copy(update=update)


def grid_points(grid: Mapping[str, Sequence[float]], max_points: int) -> list[dict[str, float]]:
    """The first ``max_points`` points of the Cartesian grid, in the order written
    (the last hyperparameter varies fastest)."""
    names = list(grid)
    points = [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]
    return points[:max_points]


def tune(
    inputs: Mapping[str, ForecastData],
    models: Sequence[str],
    settings: ForecasterSettings,
    tuning: TuningConfig,
    seed: int,
    say: Say = silent,
) -> tuple[dict[str, dict[str, float]], pd.DataFrame]:
    """Grid search per model: every point of ``tuning.grid[model]`` (at most
    ``tuning.max_points``) fitted once with ``seed`` on ``settings.training`` (the tuning
    budget), scored by its best validation loss; the lowest wins.

    Returns:
        (model → chosen hyperparameters, one row per point tried: model, the values,
        ``val_loss``, ``seconds``, ``chosen``).
    """
    chosen: dict[str, dict[str, float]] = {}
    rows: list[dict[str, object]] = []
    for name in models:
        grid = tuning.grid.get(name)
        if not grid:
            continue
        results = []
        for point in grid_points(grid, tuning.max_points):
            trial = replace(settings, hyperparameters={name: point})
            model = create(name, trial)
            report = model.fit(inputs[model.inputs], seed=seed)
            results.append((report.best_val_loss, point, report.seconds))
            say(f"tune {name} {point}: validation loss {report.best_val_loss:.4f}")
        best = min(range(len(results)), key=lambda i: results[i][0])
        chosen[name] = results[best][1]
        rows.extend(
            {"model": name, **point, "val_loss": loss, "seconds": seconds, "chosen": i == best}
            for i, (loss, point, seconds) in enumerate(results)
        )
    return chosen, pd.DataFrame(rows)


def study_inputs(
    cfg: RunConfig, out_dir: Path, data: ForecastData, say: Say
) -> ForecastData | None:
    """The data with the study's incident-level representation as inputs, or None when
    the data set's incidents have no incident-level fields."""
    from fase.data.study_features import study_features_for_run
    from fase.data.tensors import Tensors

    try:
        study = study_features_for_run(
            cfg, Tensors.load(RunDir(out_dir)), data.area_km2, progress=say
        )
    except FaseInputError:
        return None
    return data.with_features(study.x, study.names)


def run_compare(
    cfg: RunConfig,
    out_dir: Path,
    models: Sequence[str],
    seeds: int | None = None,
    *,
    quick: bool = False,
    epochs: int | None = None,
    explain: bool | None = None,
    workers: int | None = None,
    bin: str | None = None,
    tune_first: bool = False,
    optional_study_models: bool = False,
    say: Say = silent,
) -> Comparison:
    """Build the data (if ``out_dir`` has none), compare ``models`` over ``seeds`` seeds
    (``cfg.seed``, ``cfg.seed + 1``, …; default ``compare.seeds``) and write
    ``config.yaml``, ``run_info.json`` and the leaderboard files (and with ``explain``,
    default ``compare.explain``, the attributions) into ``out_dir``.

    ``bin``: the comparison's time bin (default ``compare.bin``). ``tune_first``: the grid
    search of ``compare.tuning`` before the comparison. ``optional_study_models``: leave
    out (with a note) the models that read the study's inputs when the data set has
    none (``--models all``), instead of refusing them. ``workers``: processes of one
    torch thread each that share the fits (default :func:`default_workers`); 1: every fit
    in this process with ``training.threads`` threads. The networks train on
    ``training.device``.

    Raises:
        FaseInputError: ``out_dir`` holds data at another bin, or a model reads the
            study's inputs and the data set has no incident-level fields.
    """
    bin = cfg.compare.bin if bin is None else bin
    parse_duration(bin, "--bin")
    cfg = cfg.model_copy(
        update={
            "data": cfg.data.model_copy(update={"crime_type_channels": True, "bin": bin}),
            "compare": cfg.compare.model_copy(update={"bin": bin}),
        }
    )
    seeds = cfg.compare.seeds if seeds is None else seeds
    explain = cfg.compare.explain if explain is None else explain
    configure_threads(cfg.training.threads)
    workers = default_workers(cfg.training) if workers is None else workers
    ensure_data_phases(cfg, out_dir, say)
    data = ForecastData.from_run(out_dir, cfg.dataset.areas.projected_crs)
    if parse_duration(data.bin_width) != parse_duration(bin):
        raise FaseInputError(
            str(out_dir),
            f"holds data at {data.bin_width} bins, the comparison asks for {bin}",
            "use a new --out directory, or --bin " + data.bin_width,
        )
    say(f"comparing at {data.bin_width} bins ({data.num_nodes} areas, {data.num_steps} bins)")
    inputs = {"area": data}
    settings = forecaster_settings(cfg, quick)
    settings = replace(settings, crime_types=cfg.compare.crime_types)
    readers = {name: create(name, settings).inputs for name in models}
    if STUDY_INPUTS in readers.values():
        study = study_inputs(cfg, out_dir, data, say)
        needing = [name for name, kind in readers.items() if kind == STUDY_INPUTS]
        if study is None and optional_study_models:
            say(f"left out {', '.join(needing)}: {cfg.dataset.name} has no incident-level fields")
            models = [name for name in models if name not in needing]
        elif study is None:
            raise FaseInputError(
                "--models",
                f"{', '.join(needing)} read the study's incident-level fields, which "
                f"{cfg.dataset.name} does not have",
                "leave them out, or compare on a data set in the LAPD format (la-westla)",
            )
        else:
            inputs[STUDY_INPUTS] = study
    budget = cfg.compare.quick_budget if quick else cfg.compare.budget
    training = budget_training(cfg.training, budget, data, epochs)
    tuning_table: pd.DataFrame | None = None
    if tune_first:
        tuning = cfg.compare.tuning
        trial = replace(settings, training=budget_training(cfg.training, tuning.budget, data, None))
        chosen, tuning_table = tune(inputs, models, trial, tuning, cfg.seed, say)
        settings = replace(settings, hyperparameters=chosen)
    settings = replace(settings, training=training)
    RunDir(out_dir).record(
        cfg.model_copy(update={"training": training}),
        "compare",
        {
            "models": list(models),
            "seeds": seeds,
            "quick": quick,
            "workers": workers,
            "bin": data.bin_width,
            "hyperparameters": dict(settings.hyperparameters),
        },
    )
    seed_list = [cfg.seed + k for k in range(seeds)]
    return compare(
        inputs,
        models,
        seed_list,
        settings,
        out_dir,
        say=say,
        explain=explain,
        workers=workers,
        tuning=tuning_table,
    )
