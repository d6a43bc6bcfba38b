"""Figures of feature attributions: a summary over the features and a per-area heatmap.

Both take the aggregates of :class:`~fase.explain.attributions.Attribution` (mean
|attribution|, in expected incidents) and return a Matplotlib figure on an Agg canvas in
the report's style; :func:`save_attribution_figures` writes them as PNG and PDF,
atomically (:func:`fase.report.figures.save_figure`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from fase.errors import FaseInputError
from fase.explain.attributions import Attribution
from fase.report.figures import ACCENT, new_figure, save_figure, styled

UNIT = "mean |attribution| (expected incidents)"


@styled
def feature_summary(importance: np.ndarray, feature_names: Sequence[str]) -> Figure:
    """Horizontal bars of (F,) feature importances, largest at the top."""
    values = np.asarray(importance, dtype=float)
    if values.shape != (len(feature_names),):
        raise FaseInputError("importance", f"need {len(feature_names)} values, got {values.shape}")
    order = np.argsort(values)
    figure, axes = new_figure(height=0.3 * len(values) + 1.2)
    axes.barh(np.arange(len(values)), values[order], color=ACCENT)
    axes.set_yticks(np.arange(len(values)), [feature_names[i] for i in order])
    axes.set_xlabel(UNIT)
    axes.set_title("Integrated Gradients: feature importance")
    axes.grid(axis="y", visible=False)
    return figure


LABEL_CHARS = 40
"""Feature labels longer than this are cut (the one-hot columns of the study's inputs)."""


@styled
def area_heatmap(
    importance: np.ndarray, feature_names: Sequence[str], area_names: Sequence[str]
) -> Figure:
    """Heatmap of (N, F) importances: one row per area (its own features), one column
    per feature."""
    values = np.asarray(importance, dtype=float)
    if values.shape != (len(area_names), len(feature_names)):
        raise FaseInputError(
            "importance",
            f"need shape ({len(area_names)}, {len(feature_names)}), got {values.shape}",
        )
    labels = [
        name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"
        for name in feature_names
    ]
    width = max(7.0, 0.16 * len(labels) + 3.0)  # room for every feature's label
    label_size = 8 if len(labels) <= 20 else 6
    longest = max(len(label) for label in labels)
    height = 0.14 * len(area_names) + 2.2 + 0.05 * longest
    figure, axes = new_figure(width=width, height=max(height, 0.3 * len(area_names) + 2.2))
    image = axes.imshow(values, aspect="auto", cmap="viridis", interpolation="nearest")
    axes.set_xticks(np.arange(len(labels)), labels, rotation=60, ha="right", fontsize=label_size)
    axes.set_yticks(np.arange(len(area_names)), area_names, fontsize=6)
    axes.set_ylabel("area")
    axes.grid(visible=False)
    axes.set_title("Integrated Gradients by area")
    figure.colorbar(image, ax=axes, label=UNIT)
    return figure


def save_attribution_figures(
    attribution: Attribution, out_dir: str | Path, area_names: Sequence[str] | None = None
) -> list[Path]:
    """Write ``attribution_features.{png,pdf}`` and ``attribution_areas.{png,pdf}``.

    ``area_names``: one label per area (default: the area index).
    """
    out_dir = Path(out_dir)
    names = attribution.feature_names
    by_area = attribution.by_area()
    labels = list(area_names) if area_names is not None else [str(i) for i in range(len(by_area))]
    saved = save_figure(
        feature_summary(attribution.by_feature(), names), out_dir / "attribution_features"
    )
    saved += save_figure(area_heatmap(by_area, names, labels), out_dir / "attribution_areas")
    return saved
