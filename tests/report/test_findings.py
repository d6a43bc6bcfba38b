"""The Findings section: every number from the replicates' histories, in words too."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fase.report.findings import Estimate, findings_section, scenario_findings, sentence

INTERVAL = 0.95


def replicates_frame() -> pd.DataFrame:
    """Three replicates × three cycles; the gap widens in every replicate."""
    rows = []
    for replicate, (gap_start, gap_end, dir_end) in enumerate(
        [(-0.01, -0.05, 1.04), (-0.02, -0.07, 1.03), (-0.00, -0.06, 1.05)]
    ):
        for cycle, gap in zip((1, 2, 3), np.linspace(gap_start, gap_end, 3), strict=True):
            rows.append(
                {"replicate": replicate, "cycle": cycle, "detection_gap": gap,
                 "dir_mean": 1.0 + (dir_end - 1.0) * cycle / 3, "gini_mean": 0.1 * cycle}
            )  # fmt: skip
    return pd.DataFrame(rows)


def test_estimates_are_the_replicate_mean_and_central_interval() -> None:
    found = scenario_findings("rolling-paper", replicates_frame(), INTERVAL)
    assert found is not None and (found.replicates, found.cycles) == (3, 3)
    last = np.array([-0.05, -0.07, -0.06])
    change = last - np.array([-0.01, -0.02, -0.00])
    gap = found.last["detection_gap"]
    assert gap.mean == pytest.approx(last.mean())
    assert (gap.lo, gap.hi) == pytest.approx(tuple(np.quantile(last, [0.025, 0.975])))
    assert found.change["detection_gap"].mean == pytest.approx(change.mean())
    assert found.change["detection_gap"].excludes_zero()
    text = sentence(found, epsilon=0.05, interval=INTERVAL)
    assert f"the detection gap is {gap.text()}" in text and "minority areas" in text
    assert f"it widened by {found.change['detection_gap'].text()}" in text
    assert "DIR 1.0400 [1.0305, 1.0495] is inside the band |DIR − 1| ≤ 0.05" in text


def test_one_replicate_has_no_interval_and_says_so() -> None:
    single = replicates_frame().query("replicate == 0")
    found = scenario_findings("rolling-diminishing", single, INTERVAL)
    assert found is not None and not found.last["detection_gap"].has_interval
    text = sentence(found, 0.05, INTERVAL)
    assert "one replicate: no interval" in text and "[" not in text.split("DIR")[0]


def test_noise_is_called_noise() -> None:
    frame = replicates_frame()
    frame.loc[frame["replicate"] == 1, "detection_gap"] *= -1  # one replicate narrows
    found = scenario_findings("rolling-paper", frame, INTERVAL)
    assert found is not None and not found.change["detection_gap"].excludes_zero()
    assert "not distinguishable from replicate noise" in sentence(found, 0.05, INTERVAL)


def test_the_section_reads_history_replicates_and_labels_paper_mode(tmp_path: Path) -> None:
    folder = tmp_path / "paper-paper"
    folder.mkdir()
    frame = replicates_frame()
    frame.to_csv(folder / "history_replicates.csv", index=False)
    history = frame.groupby("cycle", as_index=False).mean()
    html = "".join(
        findings_section([("paper-paper", folder, history)], 0.05, INTERVAL, False).parts
    )
    assert "in-sample" in html and "paper-paper (leaky)" in html
    gap = Estimate.of(np.array([-0.05, -0.07, -0.06]), INTERVAL)
    assert gap.text() in html
    empty = findings_section([], 0.05, INTERVAL, True)
    assert "Smoke test" in "".join(empty.parts) and "fase simulate" in "".join(empty.parts)
