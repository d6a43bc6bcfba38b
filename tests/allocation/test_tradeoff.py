"""Trade-off sweep: the paper LP's DIR sits on the band edge, coverage grows with ε; the
report draws the table the sweep returns."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fase.allocation import Groups, tradeoff_curve
from fase.report.artefacts import TRADEOFF_ALIASES, canonical_columns
from fase.report.figures import save_figure, tradeoff


def test_curve_and_figure(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    minority = np.zeros(25, bool)
    minority[:14] = True
    groups = Groups.from_minority(minority)
    risk = rng.random((60, 25))
    tolerances = (0.0, 0.05, 0.2)
    table = tradeoff_curve(risk, groups, tolerances=tolerances)
    assert len(table) == 4 * len(tolerances)
    paper = table[table.policy == "paper"]
    np.testing.assert_allclose(paper.dir_deviation, tolerances, atol=1e-12)
    assert np.all(np.diff(paper.coverage) >= 0)
    parity = table[table.policy == "detection_parity"]
    assert np.all(parity.detection_gap.to_numpy() <= np.array(tolerances) + 1e-9)
    figure = tradeoff(canonical_columns(table, TRADEOFF_ALIASES))
    saved = save_figure(figure, tmp_path / "figs" / "tradeoff")
    assert [p.suffix for p in saved] == [".png", ".pdf"]
    assert saved[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert saved[1].read_bytes()[:5] == b"%PDF-"
