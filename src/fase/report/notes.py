"""The report's text sections: configuration, data provenance, deviations, caveats.

``docs/deviations.md`` is read from the source tree, found relative to this package
(``src/fase/report/`` → repository root). It is not shipped as package data, so a
wheel install reports that it is missing instead of embedding a stale copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fase.report.html import (
    Section,
    details_html,
    heading_html,
    list_html,
    markdown_html,
    note_html,
    paragraph_html,
    preformatted_html,
)

DEVIATIONS_FILE = Path(__file__).resolve().parents[3] / "docs" / "deviations.md"
DEFAULT_P_BASE, DEFAULT_P_MAX = 0.30, 0.90


def configuration_section(config_text: str | None) -> Section:
    """The resolved ``config.yaml``, collapsible."""
    section = Section("configuration", "Configuration")
    if config_text is None:
        section.parts.append(note_html("config.yaml not found in this run directory."))
        return section
    section.parts.append(
        paragraph_html("The resolved configuration of this run (dataset × method preset).")
    )
    section.parts.append(details_html("config.yaml", preformatted_html(config_text)))
    return section


def provenance_section(config: Mapping[str, Any], run_dir: Path) -> Section:
    """The PROVENANCE files listed in ``dataset.provenance``, rendered (Markdown) or quoted."""
    section = Section("provenance", "Data provenance")
    dataset = config.get("dataset") or {}
    if dataset.get("licence"):
        section.parts.append(paragraph_html(f"Licence: {dataset['licence']}"))
    files = dataset.get("provenance") or []
    if not files:
        section.parts.append(note_html("The dataset configuration lists no provenance files."))
    for name in files:
        path = Path(name) if Path(name).is_absolute() else run_dir / name
        label = f"{path.parent.name}/{path.name}"  # no machine path in a report
        section.parts.append(heading_html(path.name))
        if not path.is_file():
            section.parts.append(note_html(f"{label} is listed in dataset.provenance but missing."))
            continue
        text = path.read_text(encoding="utf-8")
        rendered = markdown_html(text) if path.suffix.lower() == ".md" else preformatted_html(text)
        section.parts.append(paragraph_html(f"From {label}:") + rendered)
    return section


def deviations_section(path: Path = DEVIATIONS_FILE) -> Section:
    """The content of ``docs/deviations.md`` (paper preset vs default preset)."""
    section = Section("deviations", "Deviations from the paper")
    if not path.is_file():
        section.parts.append(
            note_html(
                "docs/deviations.md ships with the source repository, not the installed "
                "package: read it in the FASE repository."
            )
        )
        return section
    section.parts.append(paragraph_html("From docs/deviations.md of the FASE repository:"))
    section.parts.append(markdown_html(path.read_text(encoding="utf-8")))
    return section


def _detection_constants(allocation_summary: Mapping[str, Any] | None) -> tuple[float, float, str]:
    settings = (allocation_summary or {}).get("config") or {}
    if isinstance(settings.get("p_base"), int | float) and isinstance(
        settings.get("p_max"), int | float
    ):
        return float(settings["p_base"]), float(settings["p_max"]), "this run's allocation"
    return DEFAULT_P_BASE, DEFAULT_P_MAX, "the defaults"


def caveats_section(
    config: Mapping[str, Any],
    group_counts: Mapping[str, int] | None,
    allocation_summary: Mapping[str, Any] | None,
) -> Section:
    """What a simulator of this kind cannot model, with this run's numbers filled in."""
    dataset = config.get("dataset") or {}
    data = config.get("data") or {}
    calendar = dataset.get("calendar") or {}
    vintage = (dataset.get("demographics") or {}).get("vintage") or "an unstated ACS vintage"
    period = f"{calendar.get('start', '?')} up to {calendar.get('end', '?')}"
    p_base, p_max, origin = _detection_constants(allocation_summary)
    counts = dict(group_counts or {})
    n_areas = sum(counts.values())
    areas = (
        f"{n_areas} areas ({counts.get('minority', 0)} minority, "
        f"{counts.get('majority', 0)} majority, {counts.get('unknown', 0)} unknown)"
        if counts
        else "a few dozen areas"
    )
    definition = data.get("minority_definition", "black_share")
    threshold = data.get("minority_threshold", 0.5)
    items = [
        "Observed counts are not crime. Incidents are what was reported to or recorded by the "
        "police; the forecasts learn recorded-crime patterns, past enforcement included.",
        "Reporting by the public is not modelled separately from police-initiated detection. "
        "The simulator lets patrol change whether every incident is recorded, but many "
        "incidents (thefts, assaults) are reported by victims whether or not a patrol is near, "
        "while others are found mostly by police. The strength of the feedback loop depends on "
        "that mix.",
        f"The detection model is a modelling choice, not a measurement: the detection "
        f"probability rises linearly from {p_base:g} with no patrol to {p_max:g} when an area "
        f"receives the whole budget B ({origin}). Neither constant nor the linear form is "
        "estimated from data, and scaling by B ties an area's detection to the city-wide "
        "budget rather than to officers per area. Detection gaps scale with p_max − p_base.",
        "Crime displacement is not modelled: patrol may move offending to nearby unpatrolled "
        "areas. True counts are fixed inputs.",
        "Deterrence is not modelled: patrol does not reduce the true counts where it is deployed.",
        "Community response is not modelled: trust, willingness to report and cooperation "
        "with the police change with policing intensity in reality, not here.",
        f"Demographic vintage mismatch: groups come from {vintage} while the incidents cover "
        f"{period}; neighbourhood composition can change in between.",
        f"Groups are a binarisation: an area counts as minority when its {definition} is "
        f"≥ {threshold}; areas near the threshold can switch group with small changes in the "
        "data, and every resident is given the area's label.",
        f"Small number of areas: {areas}. Group means and the DIR rest on few units, so one "
        "high-risk area can move the group statistics, and results need not carry over to "
        "other cities or other area sizes.",
        "Simulation cycles are not successive time periods when the simulator re-uses the "
        "same test window in every cycle (the paper's design): cycle-to-cycle change is "
        "model drift, not a city changing over time.",
    ]
    section = Section("caveats", "Caveats")
    section.parts.append(
        paragraph_html(
            "What this simulator cannot tell you. Read every fairness number in this report "
            "with these limits in mind."
        )
    )
    section.parts.append(list_html(items))
    return section
