"""Attribution figures: what they draw, and that both files are written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fase.errors import FaseInputError
from fase.explain import Attribution, area_heatmap, feature_summary, save_attribution_figures

NAMES = ["lag_1", "sin_tod", "patrol_exposure"]


def test_summary_sorts_bars_with_the_largest_on_top() -> None:
    figure = feature_summary(np.array([0.2, 0.05, 0.9]), NAMES)
    axes = figure.axes[0]
    widths = [bar.get_width() for bar in axes.patches]
    assert widths == [0.05, 0.2, 0.9]  # bottom to top
    assert [label.get_text() for label in axes.get_yticklabels()] == [
        "sin_tod",
        "lag_1",
        "patrol_exposure",
    ]


def test_heatmap_shows_the_area_by_feature_matrix() -> None:
    importance = np.arange(6, dtype=float).reshape(2, 3)
    figure = area_heatmap(importance, NAMES, ["Loop", "Austin"])
    image = figure.axes[0].images[0]
    np.testing.assert_array_equal(image.get_array(), importance)
    with pytest.raises(FaseInputError, match="shape"):
        area_heatmap(importance.T, NAMES, ["Loop", "Austin"])


def test_figures_are_saved_as_png_and_pdf(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    attribution = Attribution(rng.normal(size=(2, 4, 3, 3)), np.zeros(2), np.zeros(2), NAMES)
    saved = save_attribution_figures(attribution, tmp_path / "explain")
    assert [path.name for path in saved] == [
        "attribution_features.png",
        "attribution_features.pdf",
        "attribution_areas.png",
        "attribution_areas.pdf",
    ]
    for path in saved:
        head = path.read_bytes()[:5]
        assert head in (b"\x89PNG\r", b"%PDF-")
    assert sorted(p.name for p in (tmp_path / "explain").iterdir()) == sorted(
        p.name for p in saved
    )  # no temporary files left behind
