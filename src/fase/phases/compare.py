"""The honest comparison behind ``fase compare``: every model on the same data, split and
metrics, several seeds, one leaderboard.

For each model and seed: fit on the training split (validation for early stopping), then
on the test split score

* counts — mean NLL per area-bin (nats; a Poisson NLL around the prediction for models
  trained with MSE, flagged in the ``objective`` column), MAE and RMSE of E[Y], PAI at
  10 % of the areas;
* risk levels 1–5 (:class:`~fase.zoo.targets.RiskLevels`, fitted on the training counts)
  — Macro- and Micro-F1 of the most probable level under the forecast;
* fairness by demographic group (``unknown`` areas left out) — demographic parity
  difference and equalized odds difference of the high-risk flag (level ≥ 4), and the
  MAE ratio minority / majority (error parity);
* per crime category (when the data have type channels) — MAE of E[Y]·s_vk, the total
  forecast split by each area's training shares s_vk of the categories;
* parameters and training wall time.

With ``explain``, every neural model fitted with the first seed is explained too:
Integrated-Gradients attributions of its test forecasts (:meth:`NeuralForecaster.explain`)
as ``explanations/<model>/attribution_{features,areas}.{png,pdf}`` and
``attributions.csv`` (mean |attribution| per area and feature, expected incidents).

Models without randomness (the baselines and the Hawkes MLE) are fitted once and their
scores repeated for every seed (std 0, marked ``deterministic``).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fase.evaluation.fairness import error_parity, risk_fairness
from fase.io import write_json, write_text
from fase.runtime import configure_threads
from fase.zoo.base import Forecaster, score_distribution
from fase.zoo.data import ForecastData
from fase.zoo.neural import NeuralForecaster
from fase.zoo.registry import ZooSettings, create
from fase.zoo.targets import RiskLevels, level_scores, per_type_mae

DETERMINISTIC_FAMILIES = ("baseline",)
METRICS = (
    "nll",
    "mae",
    "rmse",
    "pai_10",
    "macro_f1",
    "micro_f1",
    "dp_difference",
    "eo_difference",
    "mae_ratio",
    "parameters",
    "train_seconds",
)
LEADERBOARD_FILES = ("leaderboard.csv", "leaderboard.md", "runs.csv", "per_type_mae.csv")


@dataclass(frozen=True)
class Comparison:
    """Outputs of :func:`compare`: one row per (model, seed), the leaderboard (mean and
    std per model, sorted by NLL), per-type MAE (model × category, mean over seeds)."""

    runs: pd.DataFrame
    leaderboard: pd.DataFrame
    per_type: pd.DataFrame


def type_shares(data: ForecastData) -> np.ndarray | None:
    """(N, K) each area's share of its training incidents per category (the city-wide
    shares for an area without training incidents); None without type channels."""
    if data.y_types is None:
        return None
    start, end = data.bounds("train")
    counts = data.y_types[:, start:end].sum(axis=1).astype(np.float64)
    city = counts.sum(axis=0) / max(counts.sum(), 1.0)
    totals = counts.sum(axis=1, keepdims=True)
    return np.where(totals > 0, counts / np.where(totals > 0, totals, 1.0), city)


def score_model(
    model: Forecaster, data: ForecastData, levels: RiskLevels, shares: np.ndarray | None
) -> tuple[dict[str, float], dict[str, float]]:
    """Test-split scores of a fitted model (module docstring) and its per-type MAE."""
    start, end = data.bounds("test")
    distribution = model.predict(data, start, end)
    scores = score_distribution(distribution, data, start, end)
    y_true = data.y[:, start:end].T
    expected = distribution.mean.detach().cpu().double().numpy()
    scores |= level_scores(levels.transform(y_true), levels.from_distribution(distribution))
    fairness = risk_fairness(
        levels.transform(y_true), levels.from_distribution(distribution), data.groups
    )
    parity = error_parity(y_true, expected, data.groups)
    scores |= {
        "dp_difference": fairness["demographic_parity_difference"],
        "eo_difference": fairness["equalized_odds_difference"],
        "mae_ratio": parity["mae_ratio"],
    }
    per_type: dict[str, float] = {}
    if shares is not None and data.y_types is not None:
        per_type = per_type_mae(
            data.y_types[:, start:end].transpose(1, 0, 2),
            expected[:, :, None] * shares[None, :, :],
            data.type_names,
        )
    return scores, per_type


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
    settings: ZooSettings
    out_dir: Path


def _fit_and_score(bench: _Bench, name: str, seed: int, explain: bool) -> _Fit:
    """Fit ``name`` with ``seed``, score it on the test split, explain it if asked."""
    model = create(name, bench.settings)
    report = model.fit(bench.data, seed=seed, out_dir=bench.out_dir / "models" / name / str(seed))
    scores, per_type = score_model(model, bench.data, bench.levels, bench.shares)
    if explain and isinstance(model, NeuralForecaster):
        write_explanation(model, bench.data, bench.out_dir / "explanations" / name)
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


def compare(
    data: ForecastData,
    models: Sequence[str],
    seeds: Sequence[int],
    settings: ZooSettings,
    out_dir: Path,
    say: Callable[[str], None] = lambda _msg: None,
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
    bench = _Bench(data, RiskLevels.from_data(data), type_shares(data), settings, out_dir)
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
    write_comparison(comparison, out_dir)
    return comparison


def write_explanation(model: NeuralForecaster, data: ForecastData, out_dir: Path) -> None:
    """``model``'s test-split attributions: the two figures and ``attributions.csv``
    (rows: areas by id, columns: features; mean |attribution| in expected incidents)."""
    from fase.explain.plots import save_attribution_figures

    attribution = model.explain(data)
    save_attribution_figures(attribution, out_dir, area_names=data.graph.node_ids)
    table = pd.DataFrame(
        attribution.by_area(),
        index=pd.Index(data.graph.node_ids, name="area"),
        columns=attribution.feature_names,
    )
    write_text(out_dir / "attributions.csv", table.to_csv())


def _is_deterministic(name: str, settings: ZooSettings) -> bool:
    """Whether model ``name`` has no randomness (fitted once, scores repeated per seed)."""
    return create(name, settings).family in DETERMINISTIC_FAMILIES


def leaderboard_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and population std over seeds of every metric, one row per model, by NLL."""
    keys = ["model", "family", "objective", "deterministic"]
    grouped = runs.groupby(keys, sort=False)[list(METRICS)]
    table = grouped.mean().join(grouped.std(ddof=0).add_suffix("_std")).reset_index()
    table.insert(len(keys), "seeds", runs.groupby(keys, sort=False).size().to_numpy())
    return table.sort_values("nll", kind="stable").reset_index(drop=True)


def leaderboard_markdown(table: pd.DataFrame) -> str:
    """The leaderboard as a Markdown table: ``mean ± std`` per metric."""
    formats = {"parameters": "{:,.0f}", "train_seconds": "{:.1f}"}
    header = ["model", "family", "objective", *METRICS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in table.iterrows():
        cells = [str(row["model"]), str(row["family"]), str(row["objective"])]
        for metric in METRICS:
            fmt = formats.get(metric, "{:.4f}")
            mean, std = row[metric], row[f"{metric}_std"]
            fixed = row["deterministic"] or metric == "parameters"
            cells.append(fmt.format(mean) + ("" if fixed else " ± " + fmt.format(std)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_comparison(comparison: Comparison, out_dir: Path) -> None:
    """``leaderboard.{csv,md,json}``, ``runs.csv``, ``per_type_mae.csv`` and the figure."""
    from fase.zoo.figures import leaderboard_figure

    write_text(out_dir / "runs.csv", comparison.runs.to_csv(index=False))
    write_text(out_dir / "leaderboard.csv", comparison.leaderboard.to_csv(index=False))
    write_text(out_dir / "leaderboard.md", leaderboard_markdown(comparison.leaderboard))
    write_json(out_dir / "leaderboard.json", comparison.leaderboard.to_dict(orient="records"))
    if not comparison.per_type.empty:
        write_text(out_dir / "per_type_mae.csv", comparison.per_type.to_csv())
    leaderboard_figure(comparison.leaderboard, out_dir / "leaderboard")
