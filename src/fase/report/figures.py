"""The paper's seven figures, plus the policy-study and trade-off figures, from run artefacts.

Every function takes a table whose columns already carry the canonical names of
:mod:`fase.report.artefacts` and returns a :class:`matplotlib.figure.Figure` drawn on an
Agg canvas (no pyplot state, no display). :func:`save_figure` writes it as PNG and PDF,
atomically. Axis limits are never fixed: every plotted value is inside the axes (the
reference fixed coverage to 0.85–1.00 and Gini to 0.90–0.95, hiding other values).

Columns ``<name>_lo`` / ``<name>_hi`` (an interval over simulation replicates), when
present, are drawn as a shaded band or error bars around ``<name>``.

| function | paper | columns |
|---|---|---|
| :func:`loss_curve` | Fig 2a | epoch, train_loss, val_loss |
| :func:`generalisation_gap` | Fig 2b | epoch, train_loss, val_loss |
| :func:`dir_cycles` | Fig 3 | cycle, dir_mean (dir_std) |
| :func:`patrol_by_group` | Fig 4 | cycle, mean_min_patrol, mean_maj_patrol |
| :func:`coverage_gini` | Fig 5 | cycle, coverage_mean, gini_mean |
| :func:`detection_disparity` | Fig 6 | cycle, detection_min, detection_maj |
| :func:`retrain_loss` | Fig 7 | cycle, loss_mean, loss_final |
| :func:`policy_study` | — | policy, detection_gap, coverage (floor) |
| :func:`tradeoff` | — | policy, epsilon, coverage, dir_abs_dev, detection_gap |
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ParamSpec

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Annotation
from matplotlib.ticker import MaxNLocator, PercentFormatter
from matplotlib.transforms import Bbox

from fase.errors import FaseInputError
from fase.io import atomic_path

STYLE: dict[str, Any] = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.5,
    "lines.linewidth": 1.5,
    "lines.markersize": 5,
    "pdf.fonttype": 42,
}
# Okabe–Ito colours (distinguishable with colour-vision deficiencies).
MINORITY = "#D55E00"
MAJORITY = "#0072B2"
TRAIN = "#0072B2"
VALIDATION = "#D55E00"
ACCENT = "#009E73"
NEUTRAL = "#555555"
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")
SAVE_DPI = 300  # the reference's print resolution

P = ParamSpec("P")


def styled(function: Callable[P, Figure]) -> Callable[P, Figure]:
    """Run a figure function under :data:`STYLE` (rcParams are read when artists are made)."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Figure:
        with mpl.rc_context(STYLE):
            return function(*args, **kwargs)

    return wrapper


def new_figure(ncols: int = 1, width: float = 6.4, height: float = 4.0) -> tuple[Figure, Any]:
    """A constrained-layout figure on an Agg canvas and its axes (one, or an array)."""
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.subplots(1, ncols)


def require(table: pd.DataFrame, columns: Sequence[str], source: str) -> None:
    """Raise :class:`FaseInputError` naming ``source`` if ``table`` lacks any of ``columns``."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise FaseInputError(source, f"has no column(s) {missing} (columns: {list(table.columns)})")
    if table.empty:
        raise FaseInputError(source, "has no rows")


def save_figure(figure: Figure, stem: str | Path, dpi: int = SAVE_DPI) -> list[Path]:
    """Write ``<stem>.png`` and ``<stem>.pdf`` atomically; return both paths.

    The layout computed for the first file is then frozen (layout engine ``none``), so
    later renders of the figure (the PDF, the embedded PNG) reuse it instead of
    re-running constrained layout, the slowest step.
    """
    stem = Path(stem)
    saved = []
    for suffix in (".png", ".pdf"):
        target = stem.with_name(stem.name + suffix)
        with atomic_path(target, suffix=suffix) as tmp:
            figure.savefig(tmp, dpi=dpi, format=suffix[1:])
        figure.set_layout_engine("none")
        saved.append(target)
    return saved


def png_bytes(figure: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes (screen resolution, for embedding in the HTML report)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, dpi=dpi, format="png")
    return buffer.getvalue()


LABEL_OFFSET = 4.0
"""Points between a labelled point and its label."""


def _overlaps(box: Bbox, others: Sequence[Bbox]) -> bool:
    """Whether ``box`` shares an area (not just an edge) with any of ``others``."""
    return any(
        min(box.x1, o.x1) > max(box.x0, o.x0) and min(box.y1, o.y1) > max(box.y0, o.y0)
        for o in others
    )


def separate_labels(figure: Figure, labels: Sequence[Annotation]) -> None:
    """Place point labels so that no two overlap; deterministic, in the order given.

    Each label (an annotation in offset points) is tried at these positions, in order:
    above right of its point, below right, above left, below left (left and right swapped
    for a point in the right half of the axes), then stacked outwards one label height at
    a time, alternately above and below, on the side facing the middle of the axes. It
    takes the first position whose box overlaps no label placed before it and lies inside
    the axes clear of the legend, or else the first that overlaps no earlier label (each
    earlier label blocks at most two stacked positions, so there always is one).

    The figure's layout is computed first and then frozen (layout engine ``none``), so
    that the placement holds in every later render (``save_figure``, ``png_bytes``).
    """
    figure.canvas.draw()
    figure.set_layout_engine("none")
    renderer = figure.canvas.get_renderer()
    placed: list[Bbox] = []
    for label in labels:
        ax = label.axes
        legend = ax.get_legend()
        obstacles = [legend.get_window_extent(renderer)] if legend is not None else []
        height = label.get_window_extent(renderer).height * 72 / figure.dpi + 1  # points
        middle = ax.bbox.x0 + ax.bbox.width / 2
        x = LABEL_OFFSET if ax.transData.transform(label.xy)[0] <= middle else -LABEL_OFFSET
        candidates = [
            (x, LABEL_OFFSET),
            (x, -LABEL_OFFSET),
            (-x, LABEL_OFFSET),
            (-x, -LABEL_OFFSET),
        ]
        for step in range(1, 2 * len(labels) + 1):
            candidates += [(x, LABEL_OFFSET + step * height), (x, -LABEL_OFFSET - step * height)]
        free, clear = [], []
        for offset in candidates:
            box = _place(label, offset, renderer)
            if _overlaps(box, placed):
                continue
            free.append((offset, box))
            inside = ax.bbox.contains(box.x0, box.y0) and ax.bbox.contains(box.x1, box.y1)
            if inside and not _overlaps(box, obstacles):
                clear.append((offset, box))
        offset, box = (clear or free)[0]
        _place(label, offset, renderer)
        placed.append(box)


def _place(label: Annotation, offset: tuple[float, float], renderer: Any) -> Bbox:
    """Move ``label`` to ``offset`` points from its point, aligned away from it; its box."""
    label.set_position(offset)
    label.set_horizontalalignment("left" if offset[0] > 0 else "right")
    label.set_verticalalignment("bottom" if offset[1] > 0 else "top")
    return label.get_window_extent(renderer)


def _band(ax: Axes, x: pd.Series, table: pd.DataFrame, column: str, color: str) -> None:
    """Shade ``column``'s replicate interval (``_lo`` to ``_hi``) when the table has one."""
    lo, hi = f"{column}_lo", f"{column}_hi"
    if lo in table.columns and hi in table.columns:
        ax.fill_between(x, table[lo], table[hi], color=color, alpha=0.2, linewidth=0)


def _cycle_axis(ax: Axes) -> None:
    ax.set_xlabel("deployment cycle")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


@styled
def loss_curve(log: pd.DataFrame) -> Figure:
    """Training and validation loss per epoch; the best (lowest validation) epoch is marked.

    ``log`` has columns epoch, train_loss, val_loss (mean loss per cell; NaN allowed).
    """
    require(log, ("epoch", "train_loss", "val_loss"), "training_log.csv")
    figure, ax = new_figure()
    ax.plot(log["epoch"], log["train_loss"], color=TRAIN, label="train loss")
    ax.plot(log["epoch"], log["val_loss"], color=VALIDATION, label="validation loss")
    if log["val_loss"].notna().any():
        best = log.loc[log["val_loss"].idxmin()]
        ax.axvline(best["epoch"], color=NEUTRAL, linestyle="--", linewidth=1)
        ax.plot(
            [best["epoch"]],
            [best["val_loss"]],
            marker="*",
            markersize=11,
            color=VALIDATION,
            linestyle="none",
            label=f"best epoch {int(best['epoch'])} (val {best['val_loss']:.4f})",
        )
    ax.set(xlabel="epoch", ylabel="loss (negative log-likelihood per cell)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Training and validation loss")
    ax.legend()
    return figure


@styled
def generalisation_gap(log: pd.DataFrame) -> Figure:
    """Generalisation gap, validation − training loss, per epoch (> 0: validation is worse)."""
    require(log, ("epoch", "train_loss", "val_loss"), "training_log.csv")
    figure, ax = new_figure()
    gap = log["val_loss"] - log["train_loss"]
    ax.plot(log["epoch"], gap, color=ACCENT, label="validation − train loss")
    ax.fill_between(log["epoch"], 0, gap, color=ACCENT, alpha=0.2, linewidth=0)
    ax.axhline(0, color=NEUTRAL, linewidth=0.8)
    ax.set(xlabel="epoch", ylabel="loss difference")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Generalisation gap")
    ax.legend()
    return figure


@styled
def dir_cycles(history: pd.DataFrame, epsilon: float) -> Figure:
    """Mean DIR of the patrol allocation per cycle (± its std over steps) and the ε band.

    DIR = mean patrol per minority area / mean patrol per majority area; the allocation
    constraint is |DIR − 1| ≤ ε, drawn as the shaded band [1 − ε, 1 + ε].
    """
    require(history, ("cycle", "dir_mean"), "simulation history")
    figure, ax = new_figure()
    ax.axhspan(1 - epsilon, 1 + epsilon, color=ACCENT, alpha=0.15, label=f"|DIR − 1| ≤ {epsilon:g}")
    ax.axhline(1, color=NEUTRAL, linewidth=0.8)
    _band(ax, history["cycle"], history, "dir_mean", MAJORITY)
    yerr = history["dir_std"] if "dir_std" in history.columns else None
    ax.errorbar(
        history["cycle"],
        history["dir_mean"],
        yerr=yerr,
        color=MAJORITY,
        marker="o",
        capsize=3,
        label="DIR mean ± std over steps" if yerr is not None else "DIR mean",
    )
    for x, y in zip(history["cycle"], history["dir_mean"], strict=True):
        ax.annotate(f"{y:.4f}", (x, y), textcoords="offset points", xytext=(6, 6), fontsize=7)
    _cycle_axis(ax)
    ax.set_ylabel("DIR (minority / majority mean patrol)")
    ax.set_title("Allocation fairness (DIR) per cycle")
    ax.legend()
    return figure


@styled
def patrol_by_group(history: pd.DataFrame) -> Figure:
    """Mean patrol units per area and step, minority vs majority areas, per cycle."""
    require(history, ("cycle", "mean_min_patrol", "mean_maj_patrol"), "simulation history")
    figure, ax = new_figure()
    x = np.arange(len(history))
    width = 0.38
    for offset, column, color, label in (
        (-width / 2, "mean_min_patrol", MINORITY, "minority areas"),
        (width / 2, "mean_maj_patrol", MAJORITY, "majority areas"),
    ):
        yerr = None
        if {f"{column}_lo", f"{column}_hi"} <= set(history.columns):
            yerr = np.vstack(
                [
                    history[column] - history[f"{column}_lo"],
                    history[f"{column}_hi"] - history[column],
                ]
            )
        bars = ax.bar(x + offset, history[column], width, color=color, label=label, yerr=yerr)
        ax.bar_label(bars, fmt="%.3f", fontsize=7, padding=2)
    ax.set_xticks(x, [str(c) for c in history["cycle"]])
    ax.set_xlabel("deployment cycle")
    ax.set_ylabel("patrol units per area and step")
    ax.set_title("Patrol by group")
    ax.margins(y=0.2)
    ax.legend(loc="upper center", ncols=2)
    return figure


@styled
def detection_disparity(history: pd.DataFrame) -> Figure:
    """Aggregate detection rate (observed / true counts) per group and cycle; gap shaded.

    The last cycle is annotated with the detection gap D_min − D_maj in percentage points
    (the sign convention of every table: negative when minority areas are detected less).
    """
    require(history, ("cycle", "detection_min", "detection_maj"), "simulation history")
    figure, ax = new_figure()
    cycle = history["cycle"]
    for column, color, label in (
        ("detection_min", MINORITY, "minority areas"),
        ("detection_maj", MAJORITY, "majority areas"),
    ):
        _band(ax, cycle, history, column, color)
        ax.plot(cycle, history[column], color=color, marker="o", label=label)
    ax.fill_between(
        cycle, history["detection_min"], history["detection_maj"], color=NEUTRAL, alpha=0.08
    )
    last = history.iloc[-1]
    gap = last["detection_min"] - last["detection_maj"]
    middle = (last["detection_maj"] + last["detection_min"]) / 2
    ax.annotate(
        f"detection gap (min − maj)\n{100 * gap:+.2f} pp",
        (last["cycle"], middle),
        textcoords="offset points",
        xytext=(-8, 0),
        fontsize=7,
        ha="right",
        va="center",
    )
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=1))
    _cycle_axis(ax)
    ax.set_ylabel("detection rate (observed / true)")
    ax.set_title("Detection-rate disparity")
    ax.legend()
    return figure


@styled
def coverage_gini(history: pd.DataFrame) -> Figure:
    """Both coverage definitions (left axis: the reference's μᵀp / (B·max μ) and, when the
    history has it, the risk share of the patrolled areas) and the Gini of the allocation
    (right axis) per cycle (paper Fig 5). All three are shares, drawn on [0, 1]: a change
    of 0.0003 looks like one."""
    require(history, ("cycle", "coverage_mean", "gini_mean"), "simulation history")
    figure, ax = new_figure()
    twin = ax.twinx()
    twin.spines["right"].set_visible(True)
    twin.grid(False)
    cycle = history["cycle"]
    _band(ax, cycle, history, "coverage_mean", MAJORITY)
    _band(twin, cycle, history, "gini_mean", MINORITY)
    left = ax.plot(cycle, history["coverage_mean"], color=MAJORITY, marker="o", label="coverage")
    if "risk_share_mean" in history.columns:
        left += ax.plot(
            cycle,
            history["risk_share_mean"],
            color=MAJORITY,
            marker="^",
            linestyle="--",
            label="risk share (patrolled areas)",
        )
    right = twin.plot(cycle, history["gini_mean"], color=MINORITY, marker="s", label="Gini")
    _cycle_axis(ax)
    ax.set_ylim(0.0, 1.05)
    twin.set_ylim(0.0, 1.05)
    ax.set_ylabel("coverage (share)", color=MAJORITY)
    twin.set_ylabel("Gini of patrol across areas", color=MINORITY)
    ax.set_title("Coverage and concentration")
    ax.legend(handles=left + right)
    return figure


@styled
def retrain_loss(history: pd.DataFrame) -> Figure:
    """Retraining loss per cycle: mean over the cycle's epochs and the final epoch's loss.

    The reference shaded ±|mean − final| around the mean; that is not an uncertainty and
    is not drawn. A replicate interval is drawn when the history has one.
    """
    require(history, ("cycle", "loss_mean", "loss_final"), "simulation history")
    figure, ax = new_figure()
    cycle = history["cycle"]
    for column, color, marker, label in (
        ("loss_mean", MAJORITY, "o", "mean over retraining epochs"),
        ("loss_final", MINORITY, "s", "final epoch"),
    ):
        _band(ax, cycle, history, column, color)
        ax.plot(cycle, history[column], color=color, marker=marker, label=label)
    for x, y in zip(cycle, history["loss_final"], strict=True):
        ax.annotate(
            f"{y:.4f}", (x, y), textcoords="offset points", xytext=(0, -12), fontsize=7, ha="center"
        )
    ax.margins(x=0.08, y=0.12)
    _cycle_axis(ax)
    ax.set_ylabel("retraining loss (in-sample)")
    ax.set_title("Retraining loss per cycle")
    ax.legend()
    return figure


@styled
def policy_study(table: pd.DataFrame) -> Figure:
    """Detection gap (x) against coverage (y), one point per policy (and floor), labelled;
    the labels never overlap one another (:func:`separate_labels`)."""
    require(table, ("policy", "detection_gap", "coverage"), "policy_study.csv")
    figure, ax = new_figure()
    ax.axvline(0, color=NEUTRAL, linewidth=0.8)
    labels = []
    for index, (policy, part) in enumerate(table.groupby("policy", sort=False)):
        color = PALETTE[index % len(PALETTE)]
        if "floor" in part.columns:
            part = part.sort_values("floor")
        ax.plot(part["detection_gap"], part["coverage"], color=color, marker="o", label=policy)
        for _, row in part.iterrows():
            text = str(policy)
            if "floor" in part.columns and len(part) > 1:
                text = f"{policy} (floor {row['floor']:g})"
            point = (row["detection_gap"], row["coverage"])
            offset = (LABEL_OFFSET, LABEL_OFFSET)  # moved by separate_labels
            labels.append(ax.annotate(text, point, offset, textcoords="offset points", fontsize=7))
    ax.set(xlabel="detection gap", ylabel="coverage")
    ax.set_title("Policy study: detection gap vs coverage")
    ax.legend()
    ax.margins(0.15)  # room for the labels of the outermost points
    separate_labels(figure, labels)
    return figure


@styled
def tradeoff(table: pd.DataFrame) -> Figure:
    """Coverage against mean |DIR − 1| (left, symlog) and the detection gap (right).

    One line per policy over its fairness tolerances; points labelled with the tolerance.
    """
    require(
        table, ("policy", "epsilon", "coverage", "dir_abs_dev", "detection_gap"), "tradeoff.csv"
    )
    figure, axes = new_figure(ncols=2, width=10.0)
    for ax, column, label in (
        (axes[0], "dir_abs_dev", "mean |DIR − 1|"),
        (axes[1], "detection_gap", "mean detection gap"),
    ):
        for index, (policy, part) in enumerate(table.groupby("policy", sort=False)):
            part = part.sort_values("epsilon")
            color = PALETTE[index % len(PALETTE)]
            ax.plot(part[column], part["coverage"], color=color, marker="o", label=policy)
            for _, row in part.iterrows():
                point = (row[column], row["coverage"])
                ax.annotate(f"{row['epsilon']:g}", point, fontsize=6)
        ax.set_xlabel(label)
    axes[0].set_xscale("symlog", linthresh=0.01)  # unconstrained policies can reach DIR ≫ 1
    axes[0].set_ylabel("coverage")
    axes[0].legend(title="policy (tolerance)")
    figure.suptitle("Fairness–efficiency trade-off")
    return figure
