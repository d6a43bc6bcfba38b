"""A complete synthetic run with its report, built once for the build and browser tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.report.fake_run import write_fake_run

from fase.report.build import build_report


@pytest.fixture(scope="session")
def full_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(run directory, report HTML) of :func:`write_fake_run` with every artefact."""
    run_dir = write_fake_run(tmp_path_factory.mktemp("run"))
    path = build_report(run_dir)
    return run_dir, path.read_text(encoding="utf-8")
