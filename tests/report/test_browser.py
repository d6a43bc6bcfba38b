"""The report renders in headless Chromium: no console errors, every section, a screenshot.

Chromium is Debian's ``chromium`` package, installed by the documented set-up; without it
these tests are skipped (:mod:`tests.helpers.browser`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from tests.helpers.browser import run_chromium

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
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1280,2000",
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
        assert image.size == (1280, 2000)
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3).astype(int)
    assert len(np.unique(pixels, axis=0)) > 100  # text, tables and figures, not a blank page
    orange = np.abs(pixels - FIGURE_ORANGE).sum(axis=1) < 30
    assert orange.sum() > 200  # the training figure (an embedded PNG) was decoded and drawn


def test_dom_has_every_section_and_image(
    chromium: str, full_report: tuple[Path, str], tmp_path: Path
) -> None:
    run_dir, source = full_report
    result = run_chromium(
        chromium, tmp_path / "profile", (run_dir / "report" / "report.html").as_uri(), "--dump-dom"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    for title in SECTION_TITLES:
        assert f"<h2>{title}</h2>" in dom
    assert dom.count("<img ") == source.count("<img ") > 0
    assert dom.count("<details>") == source.count("<details>")
