"""The cross-city report of ``fase study``: the same findings for every city side by side.

Reads each city's run directory (artefacts only, like :mod:`fase.report.build`): its
simulated scenarios, its ε and replicate interval, and writes one self-contained page,
``study_report.html``, and the table behind it, ``study_findings.csv`` (one row per city,
scenario and metric: the last cycle and the change over the cycles, mean and interval
over replicates).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from fase.io import write_text
from fase.report import artefacts
from fase.report.findings import (
    findings_section,
    findings_table,
    replicate_rows,
    scenario_findings,
)
from fase.report.glossary import glossary_section
from fase.report.html import Section, page_html, paragraph_html, table_html
from fase.rundir import RunDir

DEFAULT_EPSILON = 0.05


def city_settings(run: RunDir) -> tuple[dict, float, float]:
    """A city run's config, its DIR tolerance ε and its replicate interval."""
    config = artefacts.read_config(run)
    found = artefacts.find_epsilon(config, run)
    epsilon = found[0] if found else DEFAULT_EPSILON
    interval = float((config.get("simulation") or {}).get("interval", 0.95))
    return config, epsilon, interval


def study_table(cities: Sequence[tuple[str, RunDir]]) -> pd.DataFrame:
    """One row per (city, scenario, metric) (:func:`fase.report.findings.findings_table`)."""
    frames = []
    for city, run in cities:
        _, _, interval = city_settings(run)
        found = [
            item
            for sim in artefacts.simulations(run)
            if sim.history is not None
            and (
                item := scenario_findings(
                    sim.name, replicate_rows(sim.directory, sim.history), interval
                )
            )
            is not None
        ]
        if found:
            frames.append(findings_table(found).assign(city=city))
    if not frames:
        return pd.DataFrame()
    table = pd.concat(frames, ignore_index=True)
    return table[["city", *[c for c in table.columns if c != "city"]]]


def build_study_report(cities: Sequence[tuple[str, RunDir]], out_dir: Path) -> Path:
    """Write ``study_report.html`` and ``study_findings.csv`` into ``out_dir``."""
    table = study_table(cities)
    write_text(out_dir / "study_findings.csv", table.to_csv(index=False))
    overview = Section("overview", "All cities")
    overview.parts.append(
        paragraph_html(
            "The same findings for every city: last cycle and change over the cycles, mean "
            "[interval over replicates]. Each city's own report is report/report.html in "
            "its folder."
        )
    )
    overview.parts.append(table_html(table, title="All cities"))
    sections = [overview]
    for city, run in cities:
        config, epsilon, interval = city_settings(run)
        section = findings_section(
            [(sim.name, sim.directory, sim.history) for sim in artefacts.simulations(run)],
            epsilon,
            interval,
            smoke_test=config.get("preset") == "quick",
        )
        sections.append(Section(f"city-{city}", f"Findings: {city}", section.parts))
    sections.append(glossary_section())
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    names = ", ".join(city for city, _ in cities)
    page = page_html(f"FASE cross-city study: {names}", f"generated {generated}", sections)
    return write_text(out_dir / "study_report.html", page)
