"""The report's first section: what the run found, in numbers with intervals and in words
generated from those numbers.

For every simulated scenario (the run's own and each policy-study variant), three
quantities of the allocation and its feedback loop:

* **DIR** (``dir_mean``): patrol per minority area over patrol per majority area;
* **detection gap** (``detection_gap``): D_min − D_maj, the realised share of minority
  areas' incidents recorded minus the majority areas' (negative: minority areas are
  recorded less);
* **Gini** (``gini_mean``) of the patrol across areas.

Each is given in the last cycle and as its change from the first cycle to the last, both
as the mean over the R replicates (``history_replicates.csv``; a run without replicates
counts as R = 1) with the central ``interval`` of the replicates (numpy's linear
quantiles, as the simulator's ``<metric>_lo`` / ``_hi`` columns). With R = 1 there is no
interval and the sentence says so; with R > 1 a change whose interval contains 0 is
reported as not distinguishable from replicate noise. Scenarios in ``paper`` mode carry
the leaky label next to their numbers: they retrain on the window they are scored on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fase.report.html import Section, list_html, note_html, paragraph_html, table_html

METRICS = (("dir_mean", "DIR"), ("detection_gap", "detection gap"), ("gini_mean", "Gini"))
LEVEL_FORMAT = {"dir_mean": "{:.4f}", "detection_gap": "{:+.4f}", "gini_mean": "{:.4f}"}
"""How a metric's level is written (a change is always signed)."""
REPLICATES_FILE = "history_replicates.csv"
LEAKY = (
    "paper mode: every cycle forecasts, allocates and retrains on the same test window, so "
    "these numbers are in-sample (the reference's leak, kept to reproduce its Table 3)"
)


@dataclass(frozen=True)
class Estimate:
    """Mean over replicates and the central interval (lo, hi; NaN with one replicate)."""

    mean: float
    lo: float
    hi: float

    @classmethod
    def of(cls, values: np.ndarray, interval: float) -> Estimate:
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        if values.size == 0:
            return cls(np.nan, np.nan, np.nan)
        if values.size == 1:
            return cls(float(values[0]), np.nan, np.nan)
        tail = (1 - interval) / 2
        return cls(
            float(values.mean()),
            float(np.quantile(values, tail)),
            float(np.quantile(values, 1 - tail)),
        )

    @property
    def has_interval(self) -> bool:
        return bool(np.isfinite(self.lo))

    def text(self, fmt: str = "{:+.4f}") -> str:
        if not np.isfinite(self.mean):
            return "undefined"
        shown = fmt.format(self.mean)
        if self.has_interval:
            shown += f" [{fmt.format(self.lo)}, {fmt.format(self.hi)}]"
        return shown

    def excludes_zero(self) -> bool:
        return self.has_interval and (self.lo > 0 or self.hi < 0)


@dataclass(frozen=True)
class ScenarioFindings:
    """One scenario's last-cycle values and changes, per metric."""

    scenario: str
    replicates: int
    cycles: int
    last: dict[str, Estimate]
    change: dict[str, Estimate]

    @property
    def leaky(self) -> bool:
        return self.scenario.startswith("paper-")


def replicate_rows(directory: Path, history: pd.DataFrame) -> pd.DataFrame:
    """Every replicate's per-cycle rows (column ``replicate``): ``history_replicates.csv``
    where the simulation ran R > 1 replicates, else the history as replicate 0."""
    path = directory / REPLICATES_FILE
    if path.is_file():
        return pd.read_csv(path)
    return history.assign(replicate=0)


def scenario_findings(
    scenario: str, rows: pd.DataFrame, interval: float
) -> ScenarioFindings | None:
    """The findings of one scenario from its replicate rows (None without the columns)."""
    needed = {"cycle", "replicate", *(name for name, _ in METRICS)}
    if not needed <= set(rows.columns) or rows.empty:
        return None
    rows = rows.sort_values(["replicate", "cycle"], kind="stable")
    first = rows.groupby("replicate").head(1).set_index("replicate")
    last = rows.groupby("replicate").tail(1).set_index("replicate")
    lasts, changes = {}, {}
    for name, _ in METRICS:
        lasts[name] = Estimate.of(last[name].to_numpy(), interval)
        changes[name] = Estimate.of((last[name] - first[name]).to_numpy(), interval)
    return ScenarioFindings(
        scenario,
        replicates=int(rows["replicate"].nunique()),
        cycles=int(rows["cycle"].nunique()),
        last=lasts,
        change=changes,
    )


def sentence(found: ScenarioFindings, epsilon: float, interval: float) -> str:
    """One plain sentence per scenario, every number taken from ``found``."""
    gap, gap_change = found.last["detection_gap"], found.change["detection_gap"]
    dir_last = found.last["dir_mean"]
    who = "minority" if gap.mean < 0 else "majority"
    words = [
        f"Under {found.scenario}, after {found.cycles} cycles the detection gap is "
        f"{gap.text()} ({who} areas have the lower share of their incidents recorded)"
    ]
    if not np.isfinite(gap_change.mean):
        words.append("; its change is undefined")
    elif not gap_change.has_interval:
        trend = "widened" if abs(gap.mean) > abs(gap.mean - gap_change.mean) else "narrowed"
        words.append(
            f"; it {trend} by {abs(gap_change.mean):.4f} over the cycles "
            "(one replicate: no interval, so no claim beyond this run)"
        )
    elif gap_change.excludes_zero():
        trend = "widened" if abs(gap.mean) > abs(gap.mean - gap_change.mean) else "narrowed"
        words.append(
            f"; it {trend} by {gap_change.text()} over the cycles ({interval:.0%} interval "
            f"over {found.replicates} replicates)"
        )
    else:
        words.append(
            f"; its change over the cycles, {gap_change.text()}, is not distinguishable from "
            f"replicate noise ({interval:.0%} interval over {found.replicates} replicates)"
        )
    if np.isfinite(dir_last.mean):
        inside = abs(dir_last.mean - 1) <= epsilon + 1e-12
        band = "inside" if inside else "outside"
        words.append(f". DIR {dir_last.text('{:.4f}')} is {band} the band |DIR − 1| ≤ {epsilon:g}")
    words.append(f"; Gini {found.last['gini_mean'].text('{:.4f}')}.")
    return "".join(words)


def findings_table(found: Sequence[ScenarioFindings]) -> pd.DataFrame:
    """One row per scenario and metric: last cycle and change, mean [interval]."""
    rows = []
    for item in found:
        for name, label in METRICS:
            rows.append(
                {
                    "scenario": item.scenario + (" (leaky)" if item.leaky else ""),
                    "metric": label,
                    "last cycle": item.last[name].text(LEVEL_FORMAT[name]),
                    "change over the cycles": item.change[name].text(),
                    "replicates": item.replicates,
                }
            )
    return pd.DataFrame(rows)


def findings_section(
    scenarios: Sequence[tuple[str, Path, pd.DataFrame | None]],
    epsilon: float,
    interval: float,
    smoke_test: bool,
) -> Section:
    """The Findings section (id ``summary``) from the scenarios' (name, folder, history)."""
    section = Section("summary", "Findings")
    if smoke_test:
        section.parts.append(
            note_html(
                "Smoke test — do not interpret. This run used the quick preset: a small model "
                "trained for a few epochs, little retraining. It checks that the pipeline "
                "runs end to end; none of its numbers is a finding. Run `fase run` (the "
                "default preset) for results."
            )
        )
    found = [
        item
        for name, directory, history in scenarios
        if history is not None
        and (item := scenario_findings(name, replicate_rows(directory, history), interval))
        is not None
    ]
    if not found:
        section.parts.append(
            note_html("No simulation history yet: `fase simulate RUN_DIR` makes the findings.")
        )
        return section
    section.parts.append(
        paragraph_html(
            f"Last cycle and change from the first cycle to the last; mean over replicates "
            f"[{interval:.0%} interval over replicates]. Detection gap = D_min − D_maj "
            "(Glossary)."
        )
    )
    items = []
    for item in found:
        text = sentence(item, epsilon, interval)
        items.append(text + (f" Caveat — {LEAKY}." if item.leaky else ""))
    section.parts.append(list_html(items))
    section.parts.append(table_html(findings_table(found), title="Findings table"))
    return section
