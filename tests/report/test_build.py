"""``build_report`` on synthetic runs: every section, inline images only, notes for gaps.

``full_report`` (conftest) is the report of a run with every artefact.
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import pytest
import yaml
from PIL import Image
from tests.report.fake_run import CONFIG, HISTORY, write_phase12

from fase.errors import FaseInputError
from fase.report.build import SECTION_TITLES, build_report

FIGURES = [
    "pipeline",
    "loss_curve",
    "generalisation_gap",
    "tradeoff",
    "policy_study",
    *(
        f"{scenario}/{stem}"
        for scenario in ("baseline", "paper")
        for stem in (
            "dir_cycles",
            "patrol_by_group",
            "coverage_gini",
            "detection_disparity",
            "retrain_loss",
        )
    ),
]
MAPS = ["risk", "patrol_paper", "patrol_proportional", "baseline_last_cycle"]


def test_report_path_and_every_section(full_report: tuple[Path, str]) -> None:
    run_dir, page = full_report
    assert (run_dir / "report" / "report.html").is_file()
    headings = re.findall(r"<h2>(.*?)</h2>", page)
    assert headings == list(SECTION_TITLES)


def test_self_contained(full_report: tuple[Path, str]) -> None:
    _, page = full_report
    references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", page, re.IGNORECASE)
    assert references, "expected inline images and contents links"
    assert all(r.startswith(("data:image/png;base64,", "#")) for r in references)
    for tag in ("<script", "<link", "<iframe", "<object", "@import", "url("):
        assert tag not in page.lower()


def test_every_figure_and_map_saved_and_embedded(full_report: tuple[Path, str]) -> None:
    run_dir, page = full_report
    for folder, stems in (("figures", FIGURES), ("maps", MAPS)):
        for stem in stems:
            for suffix in (".png", ".pdf"):
                assert (run_dir / "report" / folder / f"{stem}{suffix}").is_file(), stem
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == len(FIGURES) + len(MAPS)
    for data in images:
        with Image.open(io.BytesIO(base64.b64decode(data, validate=True))) as image:
            assert image.format == "PNG" and min(image.size) > 100
            image.verify()
    assert "Not drawn" not in page


def test_tables_text_and_run_numbers(full_report: tuple[Path, str]) -> None:
    _, page = full_report
    assert "<td>Rows read</td>" in page  # data/table1.md
    assert "<td>A_geo directed edges</td>" in page  # graph/graph_stats.md
    assert "<td>0.4321</td>" in page  # evaluation/evaluation.md
    assert "<h3>Allocation: proportional</h3>" in page  # allocation summary.md
    assert "DIR tolerance ε = 0.1 (config.yaml allocation.epsilon)." in page
    assert f'<td class="num">{HISTORY["gini_mean"][3]:.4f}</td>' in page  # history table
    assert "<td>detection_parity</td>" in page  # policy study
    assert "<details><summary>config.yaml</summary><pre>" in page and "gridtown" in page
    assert "Gridtown provenance" in page and "https://example.org/data" in page
    assert "Deviations from the published FASE pipeline" in page  # docs/deviations.md
    assert "rises linearly from 0.25 with no patrol to 0.85" in page  # allocation summary
    assert "from ACS 2015-2019 5-year while the incidents cover 2020-01-01 up to 2020-01-02" in page
    assert "6 areas (2 minority, 3 majority, 1 unknown)" in page


def test_a_run_with_only_phases_1_2(tmp_path: Path) -> None:
    write_phase12(tmp_path)
    page = build_report(tmp_path).read_text(encoding="utf-8")
    assert re.findall(r"<h2>(.*?)</h2>", page) == list(SECTION_TITLES)
    for note in (
        "training_log.csv not found",
        "evaluation/evaluation.md not found",
        "No allocation/&lt;policy&gt;/ found",
        "No simulation history found",
        "simulation/policy_study.csv not found",
        "No per-area forecast, allocation or simulation yet.",
    ):
        assert note in page
    assert page.count("data:image/png") == 1  # Fig 1: the configured pipeline, nothing else
    figures = sorted(p.name for p in (tmp_path / "report" / "figures").iterdir())
    assert figures == ["pipeline.pdf", "pipeline.png"]


def test_a_history_without_a_column_leaves_that_figure_out(tmp_path: Path) -> None:
    write_phase12(tmp_path)
    config = {k: v for k, v in CONFIG.items() if k != "allocation"}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "simulation" / "s").mkdir(parents=True)
    HISTORY.drop(columns="gini_mean").to_csv(tmp_path / "simulation/s/history.csv", index=False)
    page = build_report(tmp_path).read_text(encoding="utf-8")
    assert "Not drawn (s/coverage_gini)" in page and "gini_mean" in page
    assert (tmp_path / "report" / "figures" / "s" / "dir_cycles.png").is_file()
    assert not (tmp_path / "report" / "figures" / "s" / "coverage_gini.png").exists()
    assert "DIR tolerance ε = 0.05 (default; not found in the run artefacts)." in page


def test_not_a_run_directory(tmp_path: Path) -> None:
    with pytest.raises(FaseInputError, match="run directory not found"):
        build_report(tmp_path / "missing")
    with pytest.raises(FaseInputError, match="not a FASE run directory"):
        build_report(tmp_path)


def test_no_machine_path_in_the_report(full_report: tuple[Path, str]) -> None:
    """The page names the run by its folder and the deviations by their place in the
    repository: neither the run's absolute path nor the checkout's appears."""
    run_dir, page = full_report
    repository = Path(__file__).resolve().parents[2]
    assert str(run_dir.resolve()) not in page and str(repository) not in page
    assert f"Run directory: {run_dir.name}" in page


def test_a_quick_run_carries_the_smoke_test_banner(tmp_path: Path) -> None:
    write_phase12(tmp_path)
    config = tmp_path / "config.yaml"
    config.write_text(config.read_text().replace("preset: default", "preset: quick"))
    page = build_report(tmp_path).read_text(encoding="utf-8")
    headings = re.findall(r"<h2>(.*?)</h2>", page)
    assert headings == list(SECTION_TITLES) and headings[0] == "Findings"
    findings = page[page.index("<h2>Findings</h2>") : page.index("<h2>Pipeline</h2>")]
    assert "Smoke test — do not interpret" in findings


def test_the_glossary_defines_the_detection_gap_with_the_tables_sign(
    full_report: tuple[Path, str],
) -> None:
    _, page = full_report
    glossary = page[page.index("<h2>Glossary</h2>") :]
    assert "<td>detection gap</td><td>D_min − D_maj" in glossary
    for term in ("DIR", "coverage", "risk share", "level NLL", "EO difference"):
        assert f"<td>{term}</td>" in glossary


def test_the_pipeline_figure_follows_the_findings(full_report: tuple[Path, str]) -> None:
    """Fig 1 is the second section, drawn from the run's config (its dataset and ε)."""
    _, page = full_report
    assert re.findall(r'<section id="([^"]+)">', page)[:2] == ["summary", "pipeline"]
    pipeline = page[page.index("<h2>Pipeline</h2>") : page.index("<h2>Run</h2>")]
    assert (
        pipeline.count("<img ") == 1 and "<figcaption>Fig 1. This run&#x27;s pipeline" in pipeline
    )


def test_a_run_without_a_config_says_why_fig_1_is_missing(tmp_path: Path) -> None:
    write_phase12(tmp_path)
    (tmp_path / "config.yaml").unlink()
    page = build_report(tmp_path).read_text(encoding="utf-8")
    pipeline = page[page.index("<h2>Pipeline</h2>") : page.index("<h2>Run</h2>")]
    assert "Not drawn (pipeline): config.yaml: not found in this run directory" in pipeline


def test_docs_list_every_section_in_order() -> None:
    """docs/report.md's table of sections is the report's, in the same order."""
    doc = Path(__file__).resolve().parents[2] / "docs" / "report.md"
    table = doc.read_text(encoding="utf-8").split("## Sections, in order")[1].split("\n## ")[0]
    names = re.findall(r"^\| ([^|]+?) \|", table, re.MULTILINE)
    assert names == ["section", *SECTION_TITLES]  # the header row, then one row a section
