"""``fase compare --benchmark NAME``: the model zoo on a published benchmark, scored with
its published protocol and placed beside the published numbers.

Each experiment of the benchmark (:mod:`fase.data.benchmarks`: HAGEN's five rolling
months, STHSL's one split) becomes a :class:`~fase.forecasters.ForecastData`: the K
category series are the crime-type channels, their sum the total count, the features
are FASE's count and calendar features of the total at daily bins (no demographics:
the benchmarks have none), the graph is the published region graph
(:func:`fase.graph.build.graph_from_adjacency`). Every model forecasts every category
(networks jointly, the others one copy per category) one day ahead, is fitted on the
experiment's training days (validation days for early stopping; training windows no
longer than the shortest split) and scored on its test days:

* occurrence benchmarks (HAGEN): the score of category k is P(Yₖ ≥ 1) under the model's
  forecast, turned into 0/1 decisions by HAGEN's own rule
  (:func:`~fase.data.benchmarks.hagen_decisions`: min–max per category, one threshold at
  the train + validation positive rate), then Micro- and Macro-F1;
* count benchmarks (STHSL): the expected count of each category, MAE and MAPE over the
  cells with a positive count (the published masking).

The experiments' scores are averaged (the published code reports one month at a time:
the mean is ours), then mean ± std over seeds. Differences from the published protocol
(documented in ``docs/leaderboard.md``): our models read FASE's features (lags and
rolling means of up to 7 days, day of week) computed from the whole past, not a fixed
window of 8 or 30 input days; models are selected by validation loss, not by the
validation F1 or MAE.

``--quick`` runs the first experiment only (a smoke run). Risk-level classifiers and
models on the study's incident-level inputs do not apply to benchmarks (no levels, no
incident fields) and are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from fase.config import RunConfig
from fase.config.training import TrainingConfig
from fase.data.benchmarks import (
    Benchmark,
    BenchmarkExperiment,
    benchmark_scores,
    hagen_decisions,
    hagen_positive_rate,
    load_benchmark,
    mean_scores,
)
from fase.data.pipeline import feature_spec
from fase.data.tensors import Tensors, fit_scaler
from fase.errors import FaseInputError
from fase.evaluation.published import PUBLISHED, published_rows
from fase.forecasters import ForecastData, ForecasterSettings, create, forecaster_settings
from fase.graph.build import graph_from_adjacency
from fase.io import write_json, write_text
from fase.models.distributions import SumOfIndependent
from fase.phases.compare import budget_training, default_workers, run_jobs
from fase.progress import Say, silent
from fase.rundir import RunDir
from fase.runtime import configure_threads
from fase.tables import markdown_table

DAY = pd.Timedelta("1D")
EPOCH_MONDAY = pd.Timestamp("2001-01-01")  # a Monday: day 0 when the calendar is unknown


def experiment_data(
    cfg: RunConfig, benchmark: Benchmark, experiment: BenchmarkExperiment
) -> ForecastData:
    """One experiment as the data every forecaster reads (module docstring).

    Day 0 is ``experiment.first_day`` when known, else Monday 2001-01-01 (only the day of
    week matters to the models). Every region's group is ``unknown`` (no demographics).
    """
    from fase.data.features import build_features

    y_types = np.rint(experiment.counts).astype(np.int64)  # (N, T, K)
    y = y_types.sum(axis=2)
    n, t = y.shape
    first = pd.Timestamp(experiment.first_day) if experiment.first_day else EPOCH_MONDAY
    starts = pd.date_range(first, periods=t, freq=DAY, tz="UTC")
    spec = feature_spec(cfg, DAY)
    x = build_features(y, starts, np.zeros((n, 3)), spec)
    scaled = np.zeros(len(spec.names), dtype=bool)
    scaled[: spec.n_count_features] = True
    train_end = experiment.split["train"][1]
    node_ids = [str(i) for i in range(n)]
    meta = {
        "feature_names": list(spec.names),
        "bin": "1D",
        "bin_bins_per_day": 1,
        "timezone": "UTC",
        "split": {k: list(v) for k, v in experiment.split.items()},
        "scaler": fit_scaler(x[:, :train_end], scaled),
        "groups": ["unknown"] * n,
        "crime_types": list(benchmark.categories),
        "node_ids": node_ids,
    }
    tensors = Tensors(
        x=x, y=y, bin_start=starts.as_unit("ns").asi8.copy(), meta=meta, y_types=y_types
    )
    return ForecastData.from_tensors(tensors, graph_from_adjacency(node_ids, benchmark.adjacency))


def benchmark_training(training: TrainingConfig, experiment: BenchmarkExperiment) -> TrainingConfig:
    """The training section with windows no longer than the experiment's shortest split
    (HAGEN's validation month has 15 days)."""
    shortest = min(end - start for start, end in experiment.split.values())
    return training.model_copy(update={"window": min(training.window, shortest)})


def predict_categories(model: object, data: ForecastData) -> tuple[np.ndarray, np.ndarray]:
    """A fitted per-category model's test forecast: (expected counts, P(Y ≥ 1)), each
    (T, N, K) float64."""
    start, end = data.bounds("test")
    law = model.predict(data, start, end)  # type: ignore[attr-defined]
    if not isinstance(law, SumOfIndependent):
        raise TypeError(f"{model} does not forecast per category")
    components = law.components
    expected = components.mean.detach().double().numpy()
    p_zero = components.log_prob(torch.zeros(())).exp().detach().double().numpy()
    return expected, 1.0 - p_zero


def score_experiment(
    benchmark: Benchmark, experiment: BenchmarkExperiment, expected: np.ndarray, p_any: np.ndarray
) -> dict[str, float]:
    """The published metrics of one experiment's test forecast (module docstring)."""
    truth = experiment.truth("test")
    if benchmark.target == "occurrence":
        p = np.clip(p_any, 1e-12, 1 - 1e-12)
        decided = hagen_decisions(np.log(p / (1 - p)), hagen_positive_rate(benchmark, experiment))
        return benchmark_scores(benchmark, truth, decided)
    return benchmark_scores(benchmark, truth, expected)


@dataclass(frozen=True)
class _Shared:
    """What every benchmark fit shares (sent once to each worker)."""

    benchmark: Benchmark
    data: dict[str, ForecastData]
    settings: dict[str, ForecasterSettings]


@dataclass(frozen=True)
class _Fit:
    family: str
    scores: dict[str, float]
    seconds: float
    parameters: int


def _fit_experiment(shared: _Shared, name: str, seed: int, experiment: str) -> _Fit:
    """Fit ``name`` with ``seed`` on one experiment and score its test days."""
    data = shared.data[experiment]
    model = create(name, shared.settings[experiment])
    report = model.fit(data, seed=seed)
    expected, p_any = predict_categories(model, data)
    found = next(e for e in shared.benchmark.experiments if e.name == experiment)
    scores = score_experiment(shared.benchmark, found, expected, p_any)
    return _Fit(model.family, scores, report.seconds, model.num_parameters)


def applicable_models(models: Sequence[str], settings: ForecasterSettings) -> list[str]:
    """The models that forecast counts from the area inputs (module docstring)."""
    kept = []
    for name in models:
        model = create(name, settings)
        if model.task == "counts" and model.inputs == "area":
            kept.append(name)
    return kept


@dataclass(frozen=True)
class BenchmarkComparison:
    """Outputs of :func:`run_benchmark`: ``runs`` (one row per model, seed and
    experiment), ``leaderboard`` (ours, mean ± std over seeds of the experiment mean,
    then the published rows)."""

    runs: pd.DataFrame
    leaderboard: pd.DataFrame


def run_benchmark(
    cfg: RunConfig,
    name: str,
    out_dir: Path,
    models: Sequence[str],
    seeds: int | None = None,
    *,
    quick: bool = False,
    epochs: int | None = None,
    workers: int | None = None,
    say: Say = silent,
) -> BenchmarkComparison:
    """Compare ``models`` on benchmark ``name`` (fetched: ``fase datasets fetch NAME``)
    and write ``benchmark.json`` (protocol), ``runs.csv`` and ``leaderboard.{csv,md,json}``
    to ``out_dir``, with ``config.yaml`` and ``run_info.json``."""
    benchmark = load_benchmark(name)
    seeds = cfg.compare.seeds if seeds is None else seeds
    configure_threads(cfg.training.threads)
    workers = default_workers(cfg.training) if workers is None else workers
    base = replace(forecaster_settings(cfg, quick), crime_types=True)
    chosen = applicable_models(models, base)
    left_out = [m for m in models if m not in chosen]
    if left_out:
        say(f"left out {', '.join(left_out)}: no risk levels or incident fields in {name}")
    if not chosen:
        raise FaseInputError("--models", f"no chosen model applies to the benchmark {name}")
    budget = cfg.compare.quick_budget if quick else cfg.compare.budget
    experiments = benchmark.experiments[:1] if quick else benchmark.experiments
    data: dict[str, ForecastData] = {}
    settings: dict[str, ForecasterSettings] = {}
    for experiment in experiments:
        data[experiment.name] = experiment_data(cfg, benchmark, experiment)
        training = budget_training(
            benchmark_training(cfg.training, experiment), budget, data[experiment.name], epochs
        )
        settings[experiment.name] = replace(base, training=training)
    out = RunDir(out_dir)
    out.record(
        cfg,
        "compare --benchmark",
        {"benchmark": name, "models": chosen, "seeds": seeds, "quick": quick, "workers": workers},
    )
    regions = data[benchmark.experiments[0].name].num_nodes
    say(
        f"{benchmark.title}: {len(experiments)} experiment(s), {regions} regions, "
        f"{len(benchmark.categories)} categories"
    )
    seed_list = [cfg.seed + k for k in range(seeds)]
    jobs = [(model, seed, e.name) for model in chosen for seed in seed_list for e in experiments]

    def done(job: tuple[str, int, str], fit: _Fit) -> None:
        model, seed, experiment = job
        headline = ", ".join(f"{m} {fit.scores[m]:.4f}" for m in benchmark.metrics)
        say(f"{model} seed {seed} experiment {experiment}: {headline} ({fit.seconds:.1f} s)")

    fits = run_jobs(_fit_experiment, _Shared(benchmark, data, settings), jobs, workers, done)
    rows = [
        {
            "model": model,
            "family": fits[model, seed, experiment].family,
            "seed": seed,
            "experiment": experiment,
            **fits[model, seed, experiment].scores,
            "parameters": fits[model, seed, experiment].parameters,
            "train_seconds": fits[model, seed, experiment].seconds,
        }
        for model, seed, experiment in jobs
    ]
    runs = pd.DataFrame(rows)
    leaderboard = benchmark_leaderboard(benchmark, runs)
    write_json(out / "benchmark.json", protocol(benchmark))
    write_text(out.compare_runs, runs.to_csv(index=False))
    write_text(out.leaderboard_csv, leaderboard.to_csv(index=False))
    write_json(out.leaderboard_json, leaderboard.to_dict(orient="records"))
    write_text(out.leaderboard_md, benchmark_markdown(benchmark, leaderboard))
    return BenchmarkComparison(runs, leaderboard)


def benchmark_leaderboard(benchmark: Benchmark, runs: pd.DataFrame) -> pd.DataFrame:
    """Ours: per model, the experiment mean of every metric per seed, then mean and std
    over seeds; then the published rows of this benchmark (``source`` filled)."""
    metric_columns = [c for c in runs.columns if c not in ("model", "family", "seed", "experiment")]
    per_seed = [
        {
            "model": model,
            "family": family,
            "seed": seed,
            **mean_scores(group[metric_columns].to_dict("records")),
        }
        for (model, family, seed), group in runs.groupby(["model", "family", "seed"], sort=False)
    ]
    table = pd.DataFrame(per_seed)
    grouped = table.groupby(["model", "family"], sort=False)[metric_columns]
    ours = grouped.mean().join(grouped.std(ddof=0).add_suffix("_std")).reset_index()
    ours.insert(2, "seeds", table.groupby(["model", "family"], sort=False).size().to_numpy())
    ours["source"] = "this run"
    headline = benchmark.metrics[0]
    ascending = benchmark.target == "counts"
    ours = ours.sort_values(headline, ascending=ascending, kind="stable")
    return pd.concat([ours, published_rows(benchmark.name)], ignore_index=True)


def protocol(benchmark: Benchmark) -> dict[str, object]:
    """The benchmark's protocol as recorded next to its results."""
    return {
        "name": benchmark.name,
        "title": benchmark.title,
        "source": benchmark.source,
        "target": benchmark.target,
        "categories": benchmark.categories,
        "history_days": benchmark.history_days,
        "horizon": benchmark.horizon,
        "metrics": list(benchmark.metrics),
        "experiments": {
            e.name: {k: list(v) for k, v in e.split.items()} for e in benchmark.experiments
        },
        "published": [row.source for row in PUBLISHED if row.benchmark == benchmark.name],
    }


def benchmark_markdown(benchmark: Benchmark, leaderboard: pd.DataFrame) -> str:
    """The leaderboard as Markdown: the headline metrics (mean ± std over seeds), then
    per category; published rows with their source."""
    prefix = "f1" if benchmark.target == "occurrence" else "mae"
    per_category = [f"{prefix}_{i}" for i in range(len(benchmark.categories))]
    header = ["model", *benchmark.metrics, *benchmark.categories, "source"]
    rows = []
    for _, row in leaderboard.iterrows():
        cells = [str(row["model"])]
        for column in (*benchmark.metrics, *per_category):
            value = row.get(column, np.nan)
            spread = row.get(f"{column}_std", np.nan)
            if pd.isna(value):
                cells.append("–")
            elif pd.isna(spread):
                cells.append(f"{value:.4f}")
            else:
                cells.append(f"{value:.4f} ± {spread:.4f}")
        cells.append(str(row["source"]))
        rows.append(dict(zip(header, cells, strict=True)))
    what = "F1" if benchmark.target == "occurrence" else "MAE"
    title = (
        f"# {benchmark.title}\n\nHeadline metrics, then the per-category {what} "
        f"({', '.join(benchmark.categories)}); ours: mean ± std over seeds of the mean "
        "over experiments.\n\n"
    )
    return title + markdown_table(rows, header)
