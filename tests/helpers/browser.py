"""Headless Chromium for the tests that render pages. Tests never install anything: where
no ``chromium`` is on the PATH, they are skipped with the set-up step that provides it
(README, Development: ``apt-get install chromium``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

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
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
"""Every host name but 127.0.0.1 fails to resolve: a page that needs the network breaks."""


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of the ``chromium`` binary, or skip (see the module docstring)."""
    found = shutil.which("chromium")
    if found is None:
        pytest.skip("chromium is not installed (set-up: apt-get install chromium)")
    return found


def run_chromium(
    binary: str, profile: Path, url: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """Chromium on ``url`` with the fixed flags and ``args``; output captured."""
    command = [binary, *FLAGS, f"--user-data-dir={profile}", *args, url]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
