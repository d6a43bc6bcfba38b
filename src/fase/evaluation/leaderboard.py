"""The model comparison's leaderboard: mean and spread over seeds of every metric.

One row per (model, seed) goes in (:data:`METRICS` columns plus ``model``, ``family``,
``objective``, ``task`` and ``deterministic``); one row per model comes out, sorted by
test NLL (the risk-level classifiers, which have none, last, by their level NLL).
The per-type table is built alike from one row per (model, seed, crime type).
"""

from __future__ import annotations

import pandas as pd

METRICS = (
    "nll",
    "mae",
    "rmse",
    "pai_10",
    "level_nll",
    "macro_f1",
    "micro_f1",
    "dp_difference",
    "eo_difference",
    "mae_ratio",
    "parameters",
    "train_seconds",
)
KEYS = ("model", "family", "objective", "task", "deterministic")
TYPE_METRICS = ("mae", "rmse", "nll")


def leaderboard_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and population std over seeds of every metric, one row per model, by NLL."""
    keys = list(KEYS)
    grouped = runs.groupby(keys, sort=False)[list(METRICS)]
    table = grouped.mean().join(grouped.std(ddof=0).add_suffix("_std")).reset_index()
    table.insert(len(keys), "seeds", runs.groupby(keys, sort=False).size().to_numpy())
    return table.sort_values(["nll", "level_nll"], kind="stable").reset_index(drop=True)


def per_type_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean and population std over seeds of MAE, RMSE and NLL, one row per (model,
    crime type) (empty in, empty out)."""
    if rows.empty:
        return pd.DataFrame()
    grouped = rows.groupby(["model", "category"], sort=False)[list(TYPE_METRICS)]
    return grouped.mean().join(grouped.std(ddof=0).add_suffix("_std")).reset_index()


def _cell(mean: float, std: float, fmt: str, fixed: bool) -> str:
    if pd.isna(mean):
        return "–"
    return fmt.format(mean) + ("" if fixed else " ± " + fmt.format(std))


def per_type_markdown(table: pd.DataFrame) -> str:
    """The per-type table as Markdown: one row per model, MAE (± std) per crime type,
    then the same for NLL."""
    lines: list[str] = []
    for metric in ("mae", "nll"):
        wide = table.pivot(index="model", columns="category", values=metric)
        spread = table.pivot(index="model", columns="category", values=f"{metric}_std")
        order = list(dict.fromkeys(table["model"]))
        categories = list(dict.fromkeys(table["category"]))
        lines += [f"Per crime type: {metric.upper()} (mean ± std over seeds)", ""]
        lines.append("| model | " + " | ".join(categories) + " |")
        lines.append("|" + "---|" * (len(categories) + 1))
        for model in order:
            cells = [
                _cell(wide.loc[model, c], spread.loc[model, c], "{:.4f}", False) for c in categories
            ]
            lines.append(f"| {model} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def leaderboard_markdown(table: pd.DataFrame) -> str:
    """The leaderboard as a Markdown table: ``mean ± std`` per metric (– where a model
    has no such score, e.g. count metrics of a risk-level classifier)."""
    formats = {"parameters": "{:,.0f}", "train_seconds": "{:.1f}"}
    header = ["model", "family", "objective", *METRICS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in table.iterrows():
        cells = [str(row["model"]), str(row["family"]), str(row["objective"])]
        for metric in METRICS:
            fmt = formats.get(metric, "{:.4f}")
            mean, std = row[metric], row[f"{metric}_std"]
            fixed = row["deterministic"] or metric == "parameters"
            cells.append(_cell(mean, std, fmt, fixed))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
