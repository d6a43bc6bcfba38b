"""The report renders in headless Chromium: no console errors, every section, a screenshot.

Chromium is Debian's ``chromium`` package; the session fixture installs it with apt-get
when it is missing and skips only if that is impossible (no root, no package source).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fase.report.build import SECTION_TITLES

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
FIGURE_ORANGE = (0xD5, 0x5E, 0x00)  # validation-loss and minority lines; not used by the page CSS


def _apt(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(
        ["apt-get", *args], capture_output=True, text=True, env=env, timeout=900, check=False
    )


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of the ``chromium`` binary, installed with apt-get if needed."""
    found = shutil.which("chromium")
    if found:
        return found
    if shutil.which("apt-get") is None:
        pytest.skip("chromium is not installed and apt-get is not available to install it")
    result = _apt("install", "-y", "chromium")
    if result.returncode != 0:
        _apt("update")
        result = _apt("install", "-y", "chromium")
    found = shutil.which("chromium")
    if found is None:
        reason = (result.stderr or result.stdout).strip().splitlines()[-1:]
        pytest.skip(f"chromium could not be installed with apt-get: {reason}")
    return found


def run_chromium(
    binary: str, profile: Path, page: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    command = [binary, *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


def test_report_renders_without_console_errors(
    chromium: str, full_report: tuple[Path, str], tmp_path: Path
) -> None:
    run_dir, _ = full_report
    page = run_dir / "report" / "report.html"
    shot = tmp_path / "report.png"
    result = run_chromium(
        chromium,
        tmp_path / "profile",
        page,
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
        chromium, tmp_path / "profile", run_dir / "report" / "report.html", "--dump-dom"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    for title in SECTION_TITLES:
        assert f"<h2>{title}</h2>" in dom
    assert dom.count("<img ") == source.count("<img ") > 0
    assert dom.count("<details>") == source.count("<details>")
