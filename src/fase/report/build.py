"""``build_report(run_dir)``: every figure and map a run has artefacts for, and one HTML page.

Writes, under ``RUN_DIR/report/``::

    report.html                       self-contained (inline CSS, base64 PNGs, no JavaScript)
    figures/<stem>.png|pdf            the pipeline (Fig 1), training, trade-off and policy-study
                                      figures (300 dpi)
    figures/<scenario>/<stem>.png|pdf the simulation figures of each scenario
    maps/<stem>.png|pdf               choropleths

The sections are :data:`SECTION_TITLES`, in that order (``docs/report.md`` describes
each). A missing artefact (no training yet, no simulation, …) leaves its section with a
note; an artefact that exists but cannot be read raises
:class:`~fase.errors.FaseInputError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from fase.errors import FaseInputError
from fase.io import write_text
from fase.report import artefacts, figures
from fase.report.findings import findings_section
from fase.report.glossary import glossary_section
from fase.report.html import (
    Section,
    details_html,
    figure_html,
    heading_html,
    markdown_html,
    note_html,
    page_html,
    paragraph_html,
    table_html,
)
from fase.report.maps import MapPanel, area_maps
from fase.report.notes import (
    caveats_section,
    configuration_section,
    deviations_section,
    provenance_section,
)
from fase.report.pipeline import pipeline_figure, pipeline_stages
from fase.rundir import RunDir

SECTION_TITLES = (
    "Findings",
    "Pipeline",
    "Run",
    "Dataset",
    "Graph",
    "Training",
    "Forecast evaluation",
    "Model comparison",
    "Allocation",
    "Feedback simulation",
    "Policy study",
    "Maps",
    "Configuration",
    "Data provenance",
    "Deviations from the paper",
    "Caveats",
    "Glossary",
)
DEFAULT_EPSILON = 0.05


class FigureWriter:
    """Saves figures under ``root`` (PNG + PDF) and returns their HTML (inline PNG)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(
        self, make: Callable[[], Figure], stem: str, caption: str, half: bool = False
    ) -> str:
        try:
            figure = make()
        except FaseInputError as exc:
            return note_html(f"Not drawn ({stem}): {exc.source}: {exc.problem}")
        figures.save_figure(figure, self.root / stem)
        return figure_html(figures.png_bytes(figure), caption, half)


def _markdown_or_note(path: Path, missing: str) -> str:
    """The Markdown file rendered, or a note saying ``missing``."""
    text = artefacts.read_text(path)
    return markdown_html(text) if text is not None else note_html(missing)


def pipeline_section(
    run: RunDir, config: Mapping[str, Any], meta: Mapping[str, Any] | None, draw: FigureWriter
) -> Section:
    """Fig 1: the five phases, each box labelled with this run's settings."""
    graph_stats = artefacts.read_json_file(run.graph_stats_json)
    forecaster = artefacts.read_json_file(run.forecaster_info)
    figure = draw(
        lambda: pipeline_figure(pipeline_stages(config, meta, graph_stats, forecaster)),
        "pipeline",
        "Fig 1. This run's pipeline: each phase with its settings (config.yaml; areas and "
        "features from data/meta.json, edges from graph/graph_stats.json, the fitted model "
        "from model/forecaster.json). The dashed arrow is the feedback loop: every "
        "simulation cycle retrains the predictor on what the patrols recorded.",
    )
    return Section("pipeline", "Pipeline", [figure])


def run_section(run: RunDir, info: Mapping[str, Any] | None) -> Section:
    """Run directory, dataset/preset/seed, the commands run and package versions."""
    section = Section("run", "Run")
    section.parts.append(paragraph_html(f"Run directory: {run.root.name}"))
    if info is None:
        section.parts.append(note_html("run_info.json not found."))
        return section
    rows = [
        {
            "command": c.get("command"),
            "at": c.get("at"),
            "time": ", ".join(f"{k} {v:.1f} s" for k, v in (c.get("seconds") or {}).items()),
        }
        for c in info.get("commands", [])
    ]
    facts = [(k, str(info.get(k))) for k in ("dataset", "preset", "seed", "platform")]
    section.parts.append(table_html(pd.DataFrame(facts, columns=["", "value"])))
    if rows:
        commands = pd.DataFrame(rows)
        if not commands["time"].astype(bool).any():
            commands = commands.drop(columns="time")  # no command recorded its timings
        section.parts.append(heading_html("Commands") + table_html(commands, title="Commands"))
    versions = pd.DataFrame(list((info.get("versions") or {}).items()), columns=["package", "ver"])
    section.parts.append(details_html("Package versions", table_html(versions, collapse=False)))
    return section


def model_summary(run: RunDir, config: Mapping[str, Any]) -> str:
    """The fitted model (the paper's Table 2): its name, family, objective, trainable
    parameters (``model/forecaster.json``) and, for FASE, the ``model`` settings."""
    info = artefacts.read_json_file(run.forecaster_info)
    if not isinstance(info, dict):
        return note_html("model/forecaster.json not found: run `fase train`.")
    rows = [(k, info.get(k)) for k in ("name", "family", "objective", "parameters")]
    if info.get("name") == "fase":
        rows += [(f"model.{k}", v) for k, v in (config.get("model") or {}).items()]
    cells = [(k, f"{v:,}" if isinstance(v, int) else str(v)) for k, v in rows]
    table = pd.DataFrame(cells, columns=["", "value"])
    return heading_html("Model (the paper's Table 2)") + table_html(table, title="Model")


def training_section(run: RunDir, draw: FigureWriter, config: Mapping[str, Any]) -> Section:
    """The model summary, loss curves (paper Fig 2a, 2b) from ``training_log.csv``, and
    the log itself."""
    section = Section("training", "Training")
    section.parts.append(model_summary(run, config))
    log = artefacts.training_log(run)
    if log is None:
        section.parts.append(note_html("training_log.csv not found: run `fase train` first."))
        return section
    section.parts.append(
        draw(
            lambda: figures.loss_curve(log),
            "loss_curve",
            "Training and validation loss per "
            "epoch; the star marks the best validation epoch (paper Fig 2a).",
        )
    )
    section.parts.append(
        draw(
            lambda: figures.generalisation_gap(log),
            "generalisation_gap",
            "Generalisation gap, validation − training loss (paper Fig 2b).",
        )
    )
    section.parts.append(details_html("training_log.csv", table_html(log, collapse=False)))
    return section


def allocation_section(run: RunDir, draw: FigureWriter) -> Section:
    """Each policy's ``summary.md`` and, if present, the trade-off figure and table."""
    section = Section("allocation", "Allocation")
    policies = run.allocations()
    if not policies:
        section.parts.append(note_html("No allocation/<policy>/ found: run `fase allocate`."))
    for files in policies:
        section.parts.append(_markdown_or_note(files.summary_md, f"{files.summary_md} not found."))
    table = artefacts.tradeoff_table(run)
    if table is not None:
        section.parts.append(heading_html("Fairness–efficiency trade-off"))
        section.parts.append(
            draw(
                lambda: figures.tradeoff(table),
                "tradeoff",
                "Coverage against mean |DIR − 1| "
                "and against the detection gap, one line per policy over its tolerance.",
            )
        )
        section.parts.append(details_html("tradeoff.csv", table_html(table, collapse=False)))
    return section


SIMULATION_FIGURES = (
    (
        "dir_cycles",
        "Mean DIR of the allocation per cycle ± its std over steps; the band is "
        "|DIR − 1| ≤ ε (paper Fig 3).",
    ),
    ("patrol_by_group", "Mean patrol units per area and step, minority vs majority (paper Fig 4)."),
    (
        "coverage_gini",
        "Risk-weighted coverage and Gini of the allocation; both axes scale to the "
        "data (paper Fig 5).",
    ),
    ("detection_disparity", "Detection rate (observed / true counts) per group (paper Fig 6)."),
    (
        "retrain_loss",
        "Retraining loss per cycle, mean over epochs and final epoch; in-sample on "
        "detection-thinned targets (paper Fig 7).",
    ),
)


def simulation_section(
    sims: list[artefacts.Simulation], epsilon: tuple[float, str] | None, draw: FigureWriter
) -> Section:
    """Per scenario: the history table and paper Figs 3–7 (ε from the run, else 0.05)."""
    section = Section("simulation", "Feedback simulation")
    if not any(s.history is not None for s in sims):
        section.parts.append(note_html("No simulation history found: run `fase simulate`."))
        return section
    eps, origin = epsilon or (DEFAULT_EPSILON, "default; not found in the run artefacts")
    section.parts.append(paragraph_html(f"DIR tolerance ε = {eps:g} ({origin})."))
    for sim in sims:
        if sim.history is None:
            continue
        history = sim.history
        section.parts.append(heading_html(f"Scenario: {sim.name}"))
        where = Path(*sim.history_file.parts[-3:]) if sim.history_file else "the history"
        section.parts.append(paragraph_html(f"From {where}:"))  # simulation/<scenario>/…
        section.parts.append(table_html(history, title=f"History of {sim.name}"))
        makers: dict[str, Callable[[], Figure]] = {
            "dir_cycles": lambda h=history: figures.dir_cycles(h, eps),
            "patrol_by_group": lambda h=history: figures.patrol_by_group(h),
            "coverage_gini": lambda h=history: figures.coverage_gini(h),
            "detection_disparity": lambda h=history: figures.detection_disparity(h),
            "retrain_loss": lambda h=history: figures.retrain_loss(h),
        }
        for stem, caption in SIMULATION_FIGURES:
            section.parts.append(draw(makers[stem], f"{sim.name}/{stem}", caption))
    return section


def _png(path: Path, caption: str, half: bool = False) -> str:
    """An existing PNG inline, or nothing."""
    return figure_html(path.read_bytes(), caption, half) if path.is_file() else ""


def comparison_section(run: RunDir) -> Section:
    """``fase compare``'s leaderboard (with the per-type tables, or a benchmark's
    published rows), its figure, and each explained model's IG and SHAP figures."""
    section = Section("comparison", "Model comparison")
    text = artefacts.read_text(run.leaderboard_md)
    if text is None:
        section.parts.append(note_html("leaderboard.md not found: run `fase compare`."))
        return section
    section.parts.append(markdown_html(text))
    section.parts.append(
        _png(run.leaderboard_figure.with_suffix(".png"), "Test scores per model (mean ± std).")
    )
    explained = sorted(p for p in (run.root / "explanations").glob("*") if p.is_dir())
    for folder in explained:
        parts = [
            _png(folder / "attribution_features.png", "Integrated Gradients per feature.", True),
            _png(folder / "shap_vs_ig.png", "Feature rankings: IG and SHAP.", True),
        ]
        section.parts.append(details_html(f"Explanations: {folder.name}", "".join(parts)))
    return section


def policy_section(run: RunDir, draw: FigureWriter) -> Section:
    """``simulation/policy_study.csv``: detection gap vs coverage, and the table."""
    section = Section("policy-study", "Policy study")
    table = artefacts.policy_study(run)
    if table is None:
        section.parts.append(note_html("simulation/policy_study.csv not found."))
        return section
    section.parts.append(
        draw(
            lambda: figures.policy_study(table),
            "policy_study",
            "Detection gap against coverage, one point per policy (and patrol floor).",
        )
    )
    section.parts.append(table_html(table, title="policy_study.csv"))
    section.parts.append(
        paragraph_html(
            "Each variant's own figures and maps: `fase report RUN_DIR --all-scenarios`."
        )
    )
    return section


def maps_section(
    run: RunDir,
    meta: Mapping[str, Any] | None,
    sims: list[artefacts.Simulation],
    draw: FigureWriter,
) -> Section:
    """Choropleths: mean forecast risk, mean patrol per policy, each scenario's last cycle."""
    section = Section("maps", "Maps")
    areas = artefacts.areas(run)
    if areas is None:
        section.parts.append(note_html("data/areas.geojson not found: run `fase data`."))
        return section
    minority = artefacts.minority_mask(meta, len(areas))
    section.parts.append(paragraph_html("Minority areas are outlined in black."))
    drawn = 0
    forecast = artefacts.read_arrays(run.forecast)
    if forecast is not None:
        risk = artefacts.mean_over_steps(forecast, "expected", run.forecast)
        panel = MapPanel("Predicted risk", "mean expected incidents per bin", risk, "YlOrRd")
        section.parts.append(
            draw(
                lambda: area_maps(areas, [panel], minority),
                "risk",
                "Mean predicted incidents per bin over the test split.",
                half=True,
            )
        )
        drawn += 1
    for files in run.allocations():
        directory = files.directory
        arrays = artefacts.read_arrays(files.patrol)
        if arrays is None:
            continue
        patrol = artefacts.mean_over_steps(arrays, "patrol", files.patrol)
        panel = MapPanel(f"Patrol: {directory.name}", "mean patrol units per step", patrol, "Blues")
        section.parts.append(
            draw(
                lambda p=panel: area_maps(areas, [p], minority),
                f"patrol_{directory.name}",
                f"Mean patrol units per step, policy {directory.name}.",
                half=True,
            )
        )
        drawn += 1
    for sim in sims:
        if sim.per_area is None:
            continue
        panels = [
            MapPanel(title, label, np.asarray(sim.per_area[key], dtype=float)[-1], cmap)
            for key, title, label, cmap in (
                ("mean_risk", "Predicted risk", "mean risk", "YlOrRd"),
                ("mean_patrol", "Patrol", "mean patrol units", "Blues"),
                ("detection_rate", "Detection rate", "observed / true", "viridis"),
            )
            if key in sim.per_area
        ]
        if panels:
            section.parts.append(
                draw(
                    lambda p=panels: area_maps(areas, p, minority),
                    f"{sim.name}_last_cycle",
                    f"Scenario {sim.name}, last cycle, per area.",
                )
            )
            drawn += 1
    if drawn == 0:
        section.parts.append(note_html("No per-area forecast, allocation or simulation yet."))
    return section


def shown_scenarios(
    sims: list[artefacts.Simulation], config: dict[str, Any], study: pd.DataFrame | None
) -> list[artefacts.Simulation]:
    """The scenarios drawn in full: every one but the policy study's variants, whose
    figures are left to ``--all-scenarios`` (the study's table and figure cover them)
    except the variant of the run's own settings."""
    if study is None or "scenario" not in study.columns:
        return sims
    variants = set(study["scenario"]) - {artefacts.main_scenario(config)}
    return [sim for sim in sims if sim.name not in variants]


def build_report(run_dir: str | Path, all_scenarios: bool = False) -> Path:
    """Draw the figures and maps the run has artefacts for; write ``report/report.html``.

    The policy study's variants other than the run's own scenario get their figures and
    last-cycle maps only with ``all_scenarios`` (eight variants × six figures would take
    most of the report's time and pages; the study section compares them).
    """
    run = RunDir(Path(run_dir).resolve())
    if not run.root.is_dir():
        raise FaseInputError(run.root, "run directory not found", "run `fase data --out DIR`")
    if not run.config.is_file() and not run.data_dir.is_dir():
        raise FaseInputError(run.root, "is not a FASE run directory (no config.yaml, no data/)")
    draw = FigureWriter(run.figures)
    draw_map = FigureWriter(run.maps)
    config = artefacts.read_config(run)
    info = artefacts.read_json_file(run.info)
    meta = artefacts.read_json_file(run.meta)
    table1 = artefacts.read_json_file(run.dataset_table_json) or {}
    every_scenario = artefacts.simulations(run)
    sims = every_scenario
    if not all_scenarios:
        sims = shown_scenarios(sims, config, artefacts.policy_study(run))
    allocations = run.allocations()
    first_summary = artefacts.read_json_file(allocations[0].summary_json) if allocations else None
    epsilon = artefacts.find_epsilon(config, run)
    interval = float((config.get("simulation") or {}).get("interval", 0.95))
    sections = [
        findings_section(
            [(sim.name, sim.directory, sim.history) for sim in every_scenario],
            (epsilon or (DEFAULT_EPSILON, ""))[0],
            interval,
            smoke_test=config.get("preset") == "quick",
        ),
        pipeline_section(run, config, meta, draw),
        run_section(run, info),
        Section(
            "dataset",
            "Dataset",
            [_markdown_or_note(run.dataset_table_md, "data/table1.md not found: run `fase data`.")],
        ),
        Section(
            "graph",
            "Graph",
            [_markdown_or_note(run.graph_stats_md, "graph/graph_stats.md not found.")],
        ),
        training_section(run, draw, config),
        Section(
            "evaluation",
            "Forecast evaluation",
            [
                _markdown_or_note(
                    run.evaluation_md, "evaluation/evaluation.md not found: run `fase evaluate`."
                )
            ],
        ),
        comparison_section(run),
        allocation_section(run, draw),
        simulation_section(sims, epsilon, draw),
        policy_section(run, draw),
        maps_section(run, meta, sims, draw_map),
        configuration_section(artefacts.read_text(run.config)),
        provenance_section(config, run.root),
        deviations_section(),
        caveats_section(config, (table1.get("demographics") or {}).get("groups"), first_summary),
        glossary_section(),
    ]
    dataset = config.get("dataset", {}).get("name", "unknown dataset")
    title = f"FASE run report: {dataset}, preset {config.get('preset', '?')}"
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    subtitle = f"run {run.root.name} · generated {generated}"
    return write_text(run.report, page_html(title, subtitle, sections))
