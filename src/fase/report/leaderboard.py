"""The leaderboard figure: test NLL, MAE, PAI at 10 % and risk-level Macro-F1 per model,
mean ± std over seeds (error bars), models in leaderboard order (best NLL first)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from fase.report.figures import save_figure

PANELS = (
    ("nll", "test NLL (nats / area-bin) ↓"),
    ("mae", "test MAE (incidents) ↓"),
    ("pai_10", "PAI at 10 % of areas ↑"),
    ("macro_f1", "risk level Macro-F1 ↑"),
)
FAMILY_COLOURS = {"baseline": "#999999", "neural": "#4c72b0", "graph": "#55a868", "fase": "#c44e52"}


def leaderboard_figure(table: pd.DataFrame, stem: str | Path) -> list[Path]:
    """Horizontal bars per model for each metric of :data:`PANELS`; PNG and PDF at ``stem``."""
    figure = Figure(figsize=(12, 0.45 * len(table) + 1.6), layout="constrained")
    axes = figure.subplots(1, len(PANELS), sharey=True)
    positions = range(len(table))
    colours = [FAMILY_COLOURS.get(family, "#333333") for family in table["family"]]
    for ax, (metric, label) in zip(axes, PANELS, strict=True):
        ax.barh(positions, table[metric], xerr=table[f"{metric}_std"], color=colours, capsize=2)
        ax.set_xlabel(label)
        ax.grid(axis="x", alpha=0.3)
        lower = table[metric].min()
        if metric == "nll" and lower > 0:
            ax.set_xlim(0.95 * lower, 1.02 * table[metric].max())
    axes[0].set_yticks(list(positions), table["model"])
    axes[0].invert_yaxis()
    figure.suptitle("Model comparison on the test split (mean ± std over seeds; colour = family)")
    return save_figure(figure, stem)
