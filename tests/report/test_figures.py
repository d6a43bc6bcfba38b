"""The figure functions plot exactly the artefact values, never hide them, and save PNG + PDF."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.lines import Line2D
from matplotlib.ticker import PercentFormatter
from PIL import Image
from tests.report.fake_run import HISTORY, POLICY_STUDY, TRADEOFF, TRAINING_LOG

from fase.errors import FaseInputError
from fase.report import figures


def lines_by_label(ax: Axes) -> dict[str, Line2D]:
    return {str(line.get_label()): line for line in ax.lines}


def assert_line(line: Line2D, x: pd.Series, y: pd.Series) -> None:
    np.testing.assert_allclose(np.asarray(line.get_xdata(), dtype=float), x.to_numpy(dtype=float))
    np.testing.assert_allclose(np.asarray(line.get_ydata(), dtype=float), y.to_numpy(dtype=float))


def test_loss_curve_plots_the_log_and_marks_the_best_epoch() -> None:
    ax = figures.loss_curve(TRAINING_LOG).axes[0]
    lines = lines_by_label(ax)
    assert_line(lines["train loss"], TRAINING_LOG["epoch"], TRAINING_LOG["train_loss"])
    assert_line(lines["validation loss"], TRAINING_LOG["epoch"], TRAINING_LOG["val_loss"])
    (best,) = [line for label, line in lines.items() if label.startswith("best epoch")]
    # val_loss = [0.95, 0.80, 0.62, 0.66, 0.70]: the minimum is epoch 3.
    assert best.get_label() == "best epoch 3 (val 0.6200)"
    np.testing.assert_allclose(best.get_xydata(), [[3.0, 0.62]])
    vertical = [line for line in ax.lines if np.ptp(line.get_xdata()) == 0 and line is not best]
    assert [line.get_xdata()[0] for line in vertical] == [3]


def test_generalisation_gap_is_validation_minus_train() -> None:
    ax = figures.generalisation_gap(TRAINING_LOG).axes[0]
    gap = lines_by_label(ax)["validation − train loss"]
    np.testing.assert_allclose(gap.get_ydata(), [0.05, 0.10, 0.02, 0.11, 0.18], atol=1e-12)


def test_dir_cycles_error_bars_and_epsilon_band() -> None:
    ax = figures.dir_cycles(HISTORY, epsilon=0.1).axes[0]
    (container,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    data_line, _, (bars,) = container.lines
    assert_line(data_line, HISTORY["cycle"], HISTORY["dir_mean"])
    for segment, mean, std in zip(
        bars.get_segments(), HISTORY["dir_mean"], HISTORY["dir_std"], strict=True
    ):
        np.testing.assert_allclose(segment[:, 1], [mean - std, mean + std])
    (band,) = ax.patches
    assert band.get_y() == pytest.approx(0.9)
    assert band.get_height() == pytest.approx(0.2)
    assert [t.get_text() for t in ax.texts] == [f"{v:.4f}" for v in HISTORY["dir_mean"]]


def test_patrol_bars_have_the_group_means() -> None:
    ax = figures.patrol_by_group(HISTORY).axes[0]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    heights = [[rect.get_height() for rect in c] for c in bars]
    np.testing.assert_allclose(heights[0], HISTORY["mean_min_patrol"])
    np.testing.assert_allclose(heights[1], HISTORY["mean_maj_patrol"])
    assert "2.500" in [t.get_text() for t in ax.texts]


def test_detection_disparity_lines_percent_axis_and_gap() -> None:
    ax = figures.detection_disparity(HISTORY).axes[0]
    lines = lines_by_label(ax)
    assert_line(lines["minority areas"], HISTORY["cycle"], HISTORY["detection_min"])
    assert_line(lines["majority areas"], HISTORY["cycle"], HISTORY["detection_maj"])
    assert isinstance(ax.yaxis.get_major_formatter(), PercentFormatter)
    # last cycle: minority 0.352 − majority 0.376 = −0.024 → −2.40 pp (the tables' sign)
    assert ax.texts[-1].get_text() == "detection gap (min − maj)\n-2.40 pp"


def test_coverage_and_gini_are_never_clipped() -> None:
    """The reference fixed the limits at 0.85–1.00 and 0.90–0.95; these values fall outside."""
    history = HISTORY.assign(risk_share_mean=np.linspace(0.9, 0.8, len(HISTORY)))
    figure = figures.coverage_gini(history)
    left, right = figure.axes
    coverage = lines_by_label(left)["coverage"]
    gini = lines_by_label(right)["Gini"]
    assert_line(coverage, HISTORY["cycle"], HISTORY["coverage_mean"])
    assert_line(gini, HISTORY["cycle"], HISTORY["gini_mean"])
    for ax in (left, right):  # shares on one fixed scale: small changes look small
        assert ax.get_ylim() == (0.0, 1.05)
    share = lines_by_label(left)["risk share (patrolled areas)"]  # both coverage definitions
    assert_line(share, history["cycle"], history["risk_share_mean"])


def test_retrain_loss_lines_and_final_labels() -> None:
    ax = figures.retrain_loss(HISTORY).axes[0]
    lines = lines_by_label(ax)
    assert_line(lines["mean over retraining epochs"], HISTORY["cycle"], HISTORY["loss_mean"])
    assert_line(lines["final epoch"], HISTORY["cycle"], HISTORY["loss_final"])
    assert [t.get_text() for t in ax.texts] == ["0.2500", "0.2400", "0.2350", "0.2300"]


def test_replicate_intervals_are_shaded() -> None:
    history = HISTORY.assign(
        detection_min_lo=HISTORY["detection_min"] - 0.02,
        detection_min_hi=HISTORY["detection_min"] + 0.03,
    )
    ax = figures.detection_disparity(history).axes[0]
    bands = [c.get_paths()[0].vertices[:, 1] for c in ax.collections]
    # the replicate band of the minority line, then the gap shading between the lines
    np.testing.assert_allclose(bands[0].min(), history["detection_min_lo"].min())
    np.testing.assert_allclose(bands[0].max(), history["detection_min_hi"].max())
    assert len(ax.collections) == 2


def test_policy_study_points_are_labelled() -> None:
    ax = figures.policy_study(POLICY_STUDY).axes[0]
    lines = lines_by_label(ax)
    assert set(lines) >= {"paper", "proportional", "detection_parity"}
    proportional = POLICY_STUDY[POLICY_STUDY["policy"] == "proportional"]
    assert_line(lines["proportional"], proportional["detection_gap"], proportional["coverage"])
    labels = [t.get_text() for t in ax.texts]
    assert labels == [
        "paper",
        "proportional (floor 0)",
        "proportional (floor 0.5)",
        "detection_parity",
    ]


def test_tradeoff_panels() -> None:
    table = TRADEOFF.rename(columns={"tolerance": "epsilon", "dir_deviation": "dir_abs_dev"})
    left, right = figures.tradeoff(table).axes
    paper = table[table["policy"] == "paper"]
    assert_line(lines_by_label(left)["paper"], paper["dir_abs_dev"], paper["coverage"])
    assert_line(lines_by_label(right)["paper"], paper["detection_gap"], paper["coverage"])
    assert left.get_xscale() == "symlog"


def test_missing_columns_name_the_artefact() -> None:
    with pytest.raises(FaseInputError, match=r"simulation history.*gini_mean"):
        figures.coverage_gini(HISTORY.drop(columns="gini_mean"))
    with pytest.raises(FaseInputError, match="no rows"):
        figures.loss_curve(TRAINING_LOG.iloc[:0])


def test_save_figure_writes_valid_png_and_pdf(tmp_path: Path) -> None:
    saved = figures.save_figure(figures.loss_curve(TRAINING_LOG), tmp_path / "sub" / "loss")
    assert saved == [tmp_path / "sub" / "loss.png", tmp_path / "sub" / "loss.pdf"]
    with Image.open(saved[0]) as image:
        assert image.format == "PNG"
        assert image.size == (6.4 * 300, 4.0 * 300)
        image.verify()
    pdf = saved[1].read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["loss.pdf", "loss.png"]
    assert figures.png_bytes(figures.loss_curve(TRAINING_LOG)).startswith(b"\x89PNG\r\n\x1a\n")


def test_policy_study_labels_of_close_points_do_not_overlap() -> None:
    """Six variants within 0.0004 of one another (and one far away): after a fresh render
    every label is clear of every other, inside the axes, and still annotates its point."""
    rows = [
        ("paper", 0.0, -0.0300, 0.8000),
        ("proportional", 0.0, -0.0301, 0.8010),
        ("proportional", 0.5, -0.0299, 0.7990),
        ("diminishing", 0.0, -0.0302, 0.8004),
        ("diminishing", 0.5, -0.0298, 0.7996),
        ("detection_parity", 0.0, -0.0300, 0.8002),
        ("detection_parity", 0.5, 0.0200, 0.6000),
    ]
    close = pd.DataFrame(rows, columns=["policy", "floor", "detection_gap", "coverage"])
    figure = figures.policy_study(close)
    figure.canvas.draw()  # as save_figure and png_bytes render it
    renderer = figure.canvas.get_renderer()
    ax = figure.axes[0]
    assert len(ax.texts) == len(close)
    boxes = [text.get_window_extent(renderer) for text in ax.texts]
    for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2):
        width = min(a.x1, b.x1) - max(a.x0, b.x0)
        height = min(a.y1, b.y1) - max(a.y0, b.y0)
        assert width <= 0 or height <= 0, (ax.texts[i].get_text(), ax.texts[j].get_text())
    for box in boxes:
        assert ax.bbox.contains(box.x0, box.y0) and ax.bbox.contains(box.x1, box.y1)
    points = zip(close["detection_gap"], close["coverage"], strict=True)
    assert sorted(text.xy for text in ax.texts) == sorted(points)
