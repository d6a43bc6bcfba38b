"""The report renders in headless Chromium: no console errors, every section, a screenshot,
and the Findings as rendered carry the numbers of the run's replicate histories.

Chromium is Debian's ``chromium`` package, installed by the documented set-up; without it
these tests are skipped (:mod:`tests.helpers.browser`).
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from tests.helpers.browser import OFFLINE, run_chromium

from fase.report.build import SECTION_TITLES

FIGURE_ORANGE = (0xD5, 0x5E, 0x00)  # validation-loss and minority lines; not used by the page CSS


def test_report_renders_without_console_errors(
    chromium: str, full_report: tuple[Path, str], tmp_path: Path
) -> None:
    run_dir, _ = full_report
    page = run_dir / "report" / "report.html"
    shot = tmp_path / "report.png"
    result = run_chromium(
        chromium,
        tmp_path / "profile",
        page.as_uri(),
        OFFLINE,
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1280,3000",
        f"--screenshot={shot}",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # Chromium logs every console message as "<LEVEL>:CONSOLE(line)"; a page without
    # scripts should produce none (an uncaught error reads "INFO:CONSOLE ... Uncaught").
    console = [
        line for line in result.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line
    ]
    assert console == []
    assert shot.is_file() and shot.stat().st_size > 20_000
    with Image.open(shot) as image:
        assert image.size == (1280, 3000)
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3).astype(int)
    assert len(np.unique(pixels, axis=0)) > 100  # text, tables and figures, not a blank page
    orange = np.abs(pixels - FIGURE_ORANGE).sum(axis=1) < 30
    assert orange.sum() > 200  # the training figure (an embedded PNG) was decoded and drawn


def test_dom_has_every_section_and_image(
    chromium: str, full_report: tuple[Path, str], tmp_path: Path
) -> None:
    run_dir, source = full_report
    page = (run_dir / "report" / "report.html").as_uri()
    result = run_chromium(chromium, tmp_path / "profile", page, OFFLINE, "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    for title in SECTION_TITLES:
        assert f"<h2>{title}</h2>" in dom
    assert dom.count("<img ") == source.count("<img ") > 0
    assert dom.count("<details>") == source.count("<details>")


class SectionReader(HTMLParser):
    """The text of one ``<section>``'s table rows (cells) and list items, from a DOM."""

    def __init__(self, section_id: str) -> None:
        super().__init__()
        self.section_id = section_id
        self.depth = 0  # nesting of <section> inside the one read; 0 outside it
        self.rows: list[list[str]] = []
        self.items: list[str] = []
        self.text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section" and (self.depth or ("id", self.section_id) in attrs):
            self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in ("td", "th", "li"):
            self.text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "section" and self.depth:
            self.depth -= 1
        elif self.text is not None and tag in ("td", "th", "li"):
            text = "".join(self.text).strip()
            if tag == "li":
                self.items.append(text)
            else:
                self.rows[-1].append(text)
            self.text = None

    def handle_data(self, data: str) -> None:
        if self.text is not None:
            self.text.append(data)


def test_rendered_findings_are_the_replicates_numbers(
    chromium: str, full_report: tuple[Path, str], tmp_path: Path
) -> None:
    """Chromium renders report.html offline; the Findings it shows (table and sentences)
    equal the mean and 95 % interval over the replicates in history_replicates.csv,
    computed here from the artefact, for the last cycle and the change over the cycles."""
    run_dir, _ = full_report
    page = (run_dir / "report" / "report.html").as_uri()
    result = run_chromium(chromium, tmp_path / "profile", page, OFFLINE, "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    reader = SectionReader("summary")
    reader.feed(result.stdout)
    header, *rows = reader.rows
    assert header == ["scenario", "metric", "last cycle", "change over the cycles", "replicates"]
    shown = {(row[0], row[1]): row[2:] for row in rows}
    # the reference-named scenario ("paper") has no detection_gap column: no findings
    assert {scenario for scenario, _ in shown} == {"baseline"}
    replicates = pd.read_csv(run_dir / "simulation" / "baseline" / "history_replicates.csv")
    ordered = replicates.sort_values(["replicate", "cycle"])
    last = ordered.groupby("replicate").tail(1)
    first = ordered.groupby("replicate").head(1)
    for column, label, fmt in (
        ("dir_mean", "DIR", "{:.4f}"),
        ("detection_gap", "detection gap", "{:+.4f}"),
        ("gini_mean", "Gini", "{:.4f}"),
    ):
        level = last[column].to_numpy()
        change = level - first[column].to_numpy()
        expected = []
        for values, form in ((level, fmt), (change, "{:+.4f}")):
            lo, hi = np.quantile(values, [0.025, 0.975])
            expected.append(f"{form.format(values.mean())} [{form.format(lo)}, {form.format(hi)}]")
        assert shown["baseline", label] == [*expected, str(replicates["replicate"].nunique())]
    (sentence,) = reader.items
    gap = shown["baseline", "detection gap"]
    assert sentence.startswith(f"Under baseline, after {replicates['cycle'].nunique()} cycles")
    assert f"the detection gap is {gap[0]}" in sentence and gap[1] in sentence
    assert f"DIR {shown['baseline', 'DIR'][0]}" in sentence
