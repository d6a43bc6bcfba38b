"""The model comparison's leaderboard: mean and spread over seeds of every metric.

One row per (model, seed) goes in (:data:`METRICS` columns plus ``model``, ``family``,
``objective`` and ``deterministic``); one row per model comes out, sorted by test NLL.
"""

from __future__ import annotations

import pandas as pd

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
KEYS = ("model", "family", "objective", "deterministic")


def leaderboard_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and population std over seeds of every metric, one row per model, by NLL."""
    keys = list(KEYS)
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
