"""``fase compare``: every model on the same data, split and metrics, several seeds, one
leaderboard.

Builds Phases 1–2 (with crime-type channels) into the output directory unless it has
them, then for each model and seed fits on the training split (validation for early
stopping) and scores the test split (:mod:`fase.forecasters.scores`: counts, risk
levels, fairness by group, per-type MAE), with the parameter count and training wall
time. Every neural model trains on the comparison's shared budget
(``compare.budget``, or ``compare.quick_budget`` with ``--quick``).

With ``explain``, every neural model fitted with the first seed is explained too:
Integrated-Gradients attributions of its test forecasts
(:func:`fase.explain.write_explanation`) under ``explanations/<model>/``.

Models without randomness (the baselines and the Hawkes MLE) are fitted once and their
scores repeated for every seed (std 0, marked ``deterministic``).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fase.config import RunConfig
from fase.config.training import TrainingConfig
from fase.evaluation.leaderboard import leaderboard_markdown, leaderboard_table
from fase.evaluation.levels import RiskLevels
from fase.explain import write_explanation
from fase.forecasters import (
    ForecastData,
    ForecasterSettings,
    NeuralForecaster,
    create,
    forecaster_settings,
)
from fase.forecasters.scores import score_model, training_levels, type_shares
from fase.io import write_json, write_text
from fase.phases.data import ensure_data_phases
from fase.progress import Say, silent
from fase.report.leaderboard import leaderboard_figure
from fase.rundir import RunDir
from fase.runtime import configure_threads

DETERMINISTIC_FAMILIES = ("baseline",)


@dataclass(frozen=True)
class Comparison:
    """Outputs of :func:`compare`: one row per (model, seed), the leaderboard (mean and
    std per model, sorted by NLL), per-type MAE (model × category, mean over seeds)."""

    runs: pd.DataFrame
    leaderboard: pd.DataFrame
    per_type: pd.DataFrame


@dataclass(frozen=True)
class _Fit:
    """One fitted (model, seed): what the leaderboard needs of it."""

    family: str
    objective: str
    scores: dict[str, float]
    per_type: dict[str, float]
    seconds: float
    parameters: int


@dataclass(frozen=True)
class _Bench:
    """What every fit of a comparison shares (sent once to each worker process)."""

    data: ForecastData
    levels: RiskLevels
    shares: np.ndarray | None
    settings: ForecasterSettings
    out: RunDir


def _fit_and_score(bench: _Bench, name: str, seed: int, explain: bool) -> _Fit:
    """Fit ``name`` with ``seed``, score it on the test split, explain it if asked."""
    model = create(name, bench.settings)
    report = model.fit(bench.data, seed=seed, out_dir=bench.out.model_fit(name, seed).root)
    scores, per_type = score_model(model, bench.data, bench.levels, bench.shares)
    if explain and isinstance(model, NeuralForecaster):
        write_explanation(model, bench.data, bench.out.explanations(name))
    return _Fit(
        model.family, model.objective, scores, per_type, report.seconds, model.num_parameters
    )


_WORKER_BENCH: _Bench | None = None


def _start_worker(bench: _Bench) -> None:
    """Worker initialiser: one torch thread, and the shared bench kept for every job."""
    global _WORKER_BENCH
    configure_threads(1)
    _WORKER_BENCH = bench


def _fit_in_worker(name: str, seed: int, explain: bool) -> _Fit:
    if _WORKER_BENCH is None:
        raise RuntimeError("worker was not initialised")
    return _fit_and_score(_WORKER_BENCH, name, seed, explain)


def _is_deterministic(name: str, settings: ForecasterSettings) -> bool:
    """Whether model ``name`` has no randomness (fitted once, scores repeated per seed)."""
    return create(name, settings).family in DETERMINISTIC_FAMILIES


def compare(
    data: ForecastData,
    models: Sequence[str],
    seeds: Sequence[int],
    settings: ForecasterSettings,
    out_dir: Path,
    say: Say = silent,
    *,
    explain: bool = True,
    workers: int = 1,
) -> Comparison:
    """Fit and score every model for every seed; write the leaderboard files to ``out_dir``
    (and, with ``explain``, the first seed's attributions of every neural model).

    ``workers`` > 1 runs the fits in that many processes of one torch thread each (the
    fits are independent; small networks use one core well and two less so). The
    numbers then differ from a one-process run only by float rounding (thread count).
    """
    out = RunDir(out_dir)
    bench = _Bench(data, training_levels(data), type_shares(data), settings, out)
    jobs = [
        (name, seed, explain and seed == seeds[0])
        for name in models
        for seed in (seeds[:1] if _is_deterministic(name, settings) else seeds)
    ]
    if workers > 1:  # the slowest (networks, listed last) first: less idle time at the end
        jobs.reverse()
    fits: dict[tuple[str, int], _Fit] = {}

    def done(name: str, seed: int, fit: _Fit) -> None:
        fits[name, seed] = fit
        say(
            f"{name} seed {seed}: NLL {fit.scores['nll']:.4f}, MAE {fit.scores['mae']:.4f}"
            f" (fitted in {fit.seconds:.1f} s)"
        )

    if workers > 1:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_start_worker, initargs=(bench,)
        ) as pool:
            futures = {pool.submit(_fit_in_worker, *job): job for job in jobs}
            for future in as_completed(futures):
                name, seed, _ = futures[future]
                done(name, seed, future.result())
    else:
        for name, seed, explained in jobs:
            done(name, seed, _fit_and_score(bench, name, seed, explained))

    rows: list[dict[str, object]] = []
    type_rows: list[dict[str, object]] = []
    for name in models:
        deterministic = _is_deterministic(name, settings)
        for seed in seeds:
            fit = fits[name, seeds[0] if deterministic else seed]
            rows.append(
                {
                    "model": name,
                    "family": fit.family,
                    "objective": fit.objective,
                    "deterministic": deterministic,
                    "seed": seed,
                    **fit.scores,
                    "parameters": fit.parameters,
                    "train_seconds": fit.seconds,
                }
            )
            type_rows.extend(
                {"model": name, "seed": seed, "category": k, "mae": v}
                for k, v in fit.per_type.items()
            )
    runs = pd.DataFrame(rows)
    per_type_table = (
        pd.DataFrame(type_rows).groupby(["model", "category"], sort=False)["mae"].mean().unstack()
        if type_rows
        else pd.DataFrame()
    )
    comparison = Comparison(runs, leaderboard_table(runs), per_type_table)
    write_comparison(comparison, out)
    return comparison


def write_comparison(comparison: Comparison, out: RunDir) -> None:
    """``leaderboard.{csv,md,json}``, ``runs.csv``, ``per_type_mae.csv`` and the figure."""
    write_text(out.compare_runs, comparison.runs.to_csv(index=False))
    write_text(out.leaderboard_csv, comparison.leaderboard.to_csv(index=False))
    write_text(out.leaderboard_md, leaderboard_markdown(comparison.leaderboard))
    write_json(out.leaderboard_json, comparison.leaderboard.to_dict(orient="records"))
    if not comparison.per_type.empty:
        write_text(out.per_type_mae, comparison.per_type.to_csv())
    leaderboard_figure(comparison.leaderboard, out.leaderboard_figure)


def compare_training(cfg: RunConfig, quick: bool, epochs: int | None) -> TrainingConfig:
    """The run's training section with the comparison's budget (``epochs`` overrides it)."""
    budget = cfg.compare.quick_budget if quick else cfg.compare.budget
    update = budget.training_overrides()
    if epochs is not None:
        update["epochs"] = epochs
    return cfg.training.model_copy(update=update)


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
    say: Say = silent,
) -> Comparison:
    """Build the data (if ``out_dir`` has none), compare ``models`` over ``seeds`` seeds
    (``cfg.seed``, ``cfg.seed + 1``, …; default ``compare.seeds``) and write
    ``config.yaml``, ``run_info.json`` and the leaderboard files (and with ``explain``,
    default ``compare.explain``, the attributions) into ``out_dir``.

    ``workers``: processes of one torch thread each that share the fits (default
    ``training.threads``: as many one-thread processes as the run's threads); 1: every
    fit in this process with ``training.threads`` threads."""
    cfg = cfg.model_copy(
        update={
            "data": cfg.data.model_copy(update={"crime_type_channels": True}),
            "training": compare_training(cfg, quick, epochs),
        }
    )
    seeds = cfg.compare.seeds if seeds is None else seeds
    explain = cfg.compare.explain if explain is None else explain
    configure_threads(cfg.training.threads)
    workers = cfg.training.threads if workers is None else workers
    ensure_data_phases(cfg, out_dir, say)
    RunDir(out_dir).record(
        cfg,
        "compare",
        {"models": list(models), "seeds": seeds, "quick": quick, "workers": workers},
    )
    data = ForecastData.from_run(out_dir, cfg.dataset.areas.projected_crs)
    settings = forecaster_settings(cfg, quick)
    seed_list = [cfg.seed + k for k in range(seeds)]
    return compare(
        data, models, seed_list, settings, out_dir, say=say, explain=explain, workers=workers
    )
