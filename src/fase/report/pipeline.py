"""Fig 1 of the report: the run's five phases as boxes, each labelled with this run's settings.

The labels are read from the run, never written by hand: the resolved ``config.yaml``
(dataset, bin width, graph rule, forecaster, allocation policy, simulation), and where
the phases have run, what they produced (``data/meta.json``: areas, features and the bin
width the tensors have; ``graph/graph_stats.json``: the contiguity rule applied and the
edge counts; ``model/forecaster.json``: the fitted model and its parameters). A setting
the config does not hold (a config written by an older FASE) is shown as ``?``.
"""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib.figure import Figure
from matplotlib.text import Text

from fase.errors import FaseInputError
from fase.report.figures import NEUTRAL, PALETTE, new_figure, styled

MISSING = "?"
LINE_WIDTH = 28
"""Characters per label line: five boxes side by side fit the figure's width."""


@dataclass(frozen=True)
class Stage:
    """One box of the pipeline figure: the phase's ``title`` and its settings, one per line."""

    title: str
    lines: tuple[str, ...]

    def label(self, number: int) -> str:
        """The box's text: numbered title, then each setting wrapped to :data:`LINE_WIDTH`."""
        wrapped = [textwrap.fill(line, LINE_WIDTH) for line in self.lines]
        return "\n".join([f"{number}. {self.title}", *wrapped])


def setting(config: Mapping[str, Any], path: str) -> Any:
    """The value at dotted ``path`` (``"allocation.budget"``), or :data:`MISSING`."""
    node: Any = config
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return MISSING
        node = node[key]
    return node


def shown(value: Any) -> str:
    """A setting as the label writes it: floats shortest (60.0 → 60), counts with commas."""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def data_stage(config: Mapping[str, Any], meta: Mapping[str, Any] | None) -> Stage:
    """Phase 1: dataset, bin width (the tensors' where they differ from the config's),
    areas × features."""
    configured = setting(config, "data.bin")
    built = (meta or {}).get("bin")
    width = shown(configured)
    if built is not None and built != configured:
        width = f"{built} (config {shown(configured)})"  # coarsened to the data's precision
    lines = [f"dataset {shown(setting(config, 'dataset.name'))}", f"{width} bins"]
    if meta is not None and "node_ids" in meta and "feature_names" in meta:
        lines.append(f"{len(meta['node_ids']):,} areas × {len(meta['feature_names']):,} features")
    else:
        lines.append("areas × features: not built yet")
    return Stage("Data and tensors", tuple(lines))


def graph_stage(config: Mapping[str, Any], stats: Mapping[str, Any] | None) -> Stage:
    """Phase 2: the contiguity rule (as applied where the graph exists), island k, the
    feature-similarity threshold, the mixing weights and the edge counts."""
    contiguity = (stats or {}).get("contiguity", setting(config, "graph.contiguity"))
    lines = [
        f"A_geo: {shown(contiguity)} contiguity",
        f"islands: {shown(setting(config, 'graph.island_k'))} nearest areas",
        f"A_feat: cosine ≥ {shown(setting(config, 'graph.theta'))}",
        f"A = {shown(setting(config, 'graph.alpha_geo'))}·A_geo + "
        f"{shown(setting(config, 'graph.alpha_feat'))}·A_feat",
    ]
    if setting(config, "graph.self_loops") is True:
        lines.append("+ I (self-loops)")
    if stats is not None and "geo_edges" in stats and "feat_edges" in stats:
        lines.append(f"edges: {stats['geo_edges']:,} geo, {stats['feat_edges']:,} feat.")
    return Stage("Hybrid graph", tuple(lines))


def predictor_stage(config: Mapping[str, Any], forecaster: Mapping[str, Any] | None) -> Stage:
    """Phase 3: the model (the fitted one where it exists), for FASE its architecture and
    count distribution, its training length and parameters."""
    info = forecaster or {}
    name = info.get("name", setting(config, "forecaster"))
    lines = [f"model {shown(name)}"]
    if name == "fase":
        hawkes = " + Hawkes" if setting(config, "model.hawkes") is True else ""
        lines += [
            f"STGNN{hawkes}, {shown(setting(config, 'model.blocks'))} blocks",
            f"{str(shown(setting(config, 'model.distribution'))).upper()} likelihood",
            f"{shown(setting(config, 'training.epochs'))} epochs max",
        ]
    elif "family" in info:
        lines.append(f"family {info['family']}, objective {info.get('objective', MISSING)}")
    if isinstance(info.get("parameters"), int):
        lines.append(f"{info['parameters']:,} parameters")
    return Stage("Predictor", tuple(lines))


def allocation_stage(config: Mapping[str, Any]) -> Stage:
    """Phase 4: policy, budget B, DIR tolerance ε, patrol floor, the risk allocated on."""
    epsilon = setting(config, "allocation.epsilon")
    tolerance = "no DIR constraint" if epsilon is None else f"|DIR − 1| ≤ ε = {shown(epsilon)}"
    lines = [
        f"policy {shown(setting(config, 'allocation.policy'))}",
        f"budget B = {shown(setting(config, 'allocation.budget'))} per bin",
        tolerance,
    ]
    floor = setting(config, "allocation.floor")
    if isinstance(floor, int | float) and floor > 0:
        lines.append(f"floor {shown(floor)} per area")
    lines.append(f"on the {shown(setting(config, 'allocation.risk'))} forecast")
    return Stage("Fair allocation", tuple(lines))


def simulation_stage(config: Mapping[str, Any]) -> Stage:
    """Phase 5: mode, cycles K (and their period in rolling mode), replicates R, detection
    model and retraining."""
    mode = setting(config, "simulation.mode")
    cycles = f"K = {shown(setting(config, 'simulation.cycles'))} cycles"
    if mode == "rolling":
        cycles += f" of {shown(setting(config, 'simulation.period'))}"
    lines = [
        f"{shown(mode)} mode",
        cycles,
        f"replicates R = {shown(setting(config, 'simulation.replicates'))}",
        f"{shown(setting(config, 'simulation.detection'))} detection",
        f"retrain {shown(setting(config, 'simulation.retrain_epochs'))} epochs per cycle",
    ]
    return Stage("Feedback simulation", tuple(lines))


def pipeline_stages(
    config: Mapping[str, Any],
    meta: Mapping[str, Any] | None,
    graph_stats: Mapping[str, Any] | None,
    forecaster: Mapping[str, Any] | None,
) -> list[Stage]:
    """The five boxes of Fig 1 from the run's config and what its phases wrote.

    Raises:
        FaseInputError: without a config (nothing to label the phases with).
    """
    if not config:
        raise FaseInputError("config.yaml", "not found in this run directory")
    return [
        data_stage(config, meta),
        graph_stage(config, graph_stats),
        predictor_stage(config, forecaster),
        allocation_stage(config),
        simulation_stage(config),
    ]


@styled
def pipeline_figure(stages: Sequence[Stage]) -> Figure:
    """Boxes left to right joined by arrows, and the feedback arrow from the last box (the
    simulation) back to the third from last (the predictor: each cycle retrains it on the
    incidents the patrols recorded); :func:`pipeline_stages` gives the five boxes.

    The boxes are ``axes.texts[:len(stages)]`` (text = :meth:`Stage.label`).
    """
    figure, ax = new_figure(width=11.0, height=2.4)
    ax.set_axis_off()
    boxes: list[Text] = []
    for index, stage in enumerate(stages):
        colour = PALETTE[index % len(PALETTE)]
        boxes.append(
            ax.text(
                (index + 0.5) / len(stages),
                0.6,
                stage.label(index + 1),
                transform=ax.transAxes,
                ha="center",
                va="center",
                fontsize=8.5,
                linespacing=1.4,
                bbox={"boxstyle": "round,pad=0.6", "facecolor": "white", "edgecolor": colour},
            )
        )
    arrow = {"arrowstyle": "-|>", "color": NEUTRAL, "shrinkA": 6, "shrinkB": 6}
    frames = [box.get_bbox_patch() for box in boxes]  # placed when its text is drawn, first
    for left, right in itertools.pairwise(frames):
        ax.annotate(
            "", (0, 0.5), xycoords=right, xytext=(1, 0.5), textcoords=left, arrowprops=arrow
        )
    ax.annotate(  # the last box (simulation) retrains the predictor, two boxes before it
        "",
        (0.5, 0),
        xycoords=frames[-3],
        xytext=(0.5, 0),
        textcoords=frames[-1],
        arrowprops={**arrow, "connectionstyle": "arc3,rad=-0.2", "linestyle": "--"},
    )
    ax.text(
        0.7,
        0.02,
        "each cycle: retrain on the incidents the patrols recorded",
        transform=ax.transAxes,
        ha="center",
        va="bottom",
        fontsize=8,
        color=NEUTRAL,
    )
    return figure
