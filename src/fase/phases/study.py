"""``fase study``: the pipeline on several cities and one cross-city report.

Every dataset is resolved (and must be fetched) before anything runs, so a missing city
fails in seconds, not after an hour of the others. Each city runs the whole pipeline
(:func:`fase.phases.run.run_pipeline`) into ``OUT/<dataset>/`` with the same preset,
configuration and seed; then :func:`fase.report.study.build_study_report` writes
``OUT/study_report.html`` and ``OUT/study_findings.csv``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fase.config import RunConfig
from fase.data.resolve import require_fetched
from fase.phases.run import run_pipeline
from fase.progress import Say, silent
from fase.report.study import build_study_report
from fase.rundir import RunDir


@dataclass(frozen=True)
class StudyResult:
    """The cross-city report, and each city's run directory by name."""

    report: Path
    runs: dict[str, Path]


def run_study(configs: Sequence[RunConfig], out_dir: Path, say: Say = silent) -> StudyResult:
    """Run each configuration (one per city) and write the cross-city report."""
    for cfg in configs:  # fail fast: every city's files are there before any runs
        require_fetched(cfg.dataset)
    runs: dict[str, Path] = {}
    for cfg in configs:
        name = cfg.dataset.name
        say(f"{name}: the pipeline ({cfg.preset} preset)")
        runs[name] = run_pipeline(
            cfg, out_dir / name, say=lambda msg, n=name: say(f"{n}: {msg}")
        ).run_dir
    report = build_study_report([(name, RunDir(path)) for name, path in runs.items()], out_dir)
    return StudyResult(report, runs)
