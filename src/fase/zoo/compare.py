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

Models without randomness (the baselines and the Hawkes MLE) are fitted once and their
scores repeated for every seed (std 0, marked ``deterministic``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fase.evaluation.fairness import error_parity, risk_fairness
from fase.io import write_json, write_text
from fase.zoo.base import Forecaster, score_distribution
from fase.zoo.data import ForecastData
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


def compare(
    data: ForecastData,
    models: Sequence[str],
    seeds: Sequence[int],
    settings: ZooSettings,
    out_dir: Path,
    say: Callable[[str], None] = lambda _msg: None,
) -> Comparison:
    """Fit and score every model for every seed; write the leaderboard files to ``out_dir``."""
    levels = RiskLevels.from_data(data)
    shares = type_shares(data)
    rows: list[dict[str, object]] = []
    type_rows: list[dict[str, object]] = []
    for name in models:
        fitted_once: tuple[dict[str, float], dict[str, float], float, int] | None = None
        for seed in seeds:
            model = create(name, settings)
            deterministic = model.family in DETERMINISTIC_FAMILIES
            if fitted_once is None or not deterministic:
                started = time.perf_counter()
                report = model.fit(data, seed=seed, out_dir=out_dir / "models" / name / str(seed))
                scores, per_type = score_model(model, data, levels, shares)
                fitted_once = (scores, per_type, report.seconds, model.num_parameters)
                say(
                    f"{name} seed {seed}: NLL {scores['nll']:.4f}, MAE {scores['mae']:.4f}"
                    f" ({time.perf_counter() - started:.1f} s)"
                )
            scores, per_type, seconds, parameters = fitted_once
            rows.append(
                {
                    "model": name,
                    "family": model.family,
                    "objective": model.objective,
                    "deterministic": deterministic,
                    "seed": seed,
                    **scores,
                    "parameters": parameters,
                    "train_seconds": seconds,
                }
            )
            type_rows.extend(
                {"model": name, "seed": seed, "category": k, "mae": v} for k, v in per_type.items()
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
