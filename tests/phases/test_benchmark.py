"""``fase compare --benchmark``: the zoo on a published benchmark's files, scored with the
published protocol, next to the published rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score
from tests.data.test_benchmarks import root, write_hagen  # noqa: F401  (fixture)
from typer.testing import CliRunner

from fase.cli import app
from fase.data.benchmarks import hagen_decisions, load_benchmark

RATE_FLOOR = 0.5  # the historical average's floor: at least half an incident per slot


def weekday_average_f1(days: np.ndarray, split: dict[str, tuple[int, int]]) -> dict[str, float]:
    """HAGEN's Micro/Macro-F1 of the per-weekday training mean of each region and
    category (the historical average at daily bins), computed here from the raw series
    with scikit-learn."""
    t, n, k = days.shape
    train_end = split["train"][1]
    slot = np.arange(t) % 7
    p_any = np.empty((t, n, k))
    for s in range(7):
        rows = np.flatnonzero(slot[:train_end] == s)
        mean = np.maximum(days[rows].sum(axis=0), RATE_FLOOR) / len(rows)
        p_any[slot == s] = 1 - np.exp(-mean)
    lo, hi = split["test"]
    rate = days[8 : split["val"][1]].mean()
    p = np.clip(p_any[lo:hi], 1e-12, 1 - 1e-12)
    decided = hagen_decisions(np.log(p / (1 - p)), rate).reshape(-1, k)
    truth = days[lo:hi].reshape(-1, k)
    return {
        "micro_f1": f1_score(truth, decided, average="micro"),
        "macro_f1": f1_score(truth, decided, average="macro", zero_division=0),
    }


def test_the_benchmark_leaderboard_holds_ours_and_the_published_rows(root, tmp_path) -> None:  # noqa: F811
    series = write_hagen(root, "CRIME-LA", "adj_mx_la.pkl", n=4, shift=0)
    out = tmp_path / "bench"
    result = CliRunner().invoke(
        app,
        [
            "compare",
            "--benchmark",
            "hagen-la",
            "--models",
            "historical_average,dnn_levels",
            "--seeds",
            "1",
            "--workers",
            "1",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "left out dnn_levels" in result.output
    board = pd.read_csv(out / "leaderboard.csv")
    ours = board[board["source"] == "this run"].set_index("model")
    assert list(ours.index) == ["historical_average"]
    benchmark = load_benchmark("hagen-la")
    expected = [weekday_average_f1(series[e.name], e.split) for e in benchmark.experiments]
    for metric in ("micro_f1", "macro_f1"):
        mean = float(np.mean([scores[metric] for scores in expected]))
        assert ours.loc["historical_average", metric] == pytest.approx(mean, rel=1e-9)
    published = board[board["family"] == "published"]
    assert published.iloc[0]["macro_f1"] == pytest.approx(0.53609, abs=1e-5)
    assert "Rafa-zy/HAGEN" in published.iloc[0]["source"]
    runs = pd.read_csv(out / "runs.csv")
    assert sorted(runs["experiment"].astype(str)) == sorted(["8", "9", "10", "11", "12"])
    assert "HAGEN (mean of months 8–12)" in (out / "leaderboard.md").read_text()


def test_quick_runs_the_first_experiment_and_refuses_city_options(root, tmp_path) -> None:  # noqa: F811
    write_hagen(root, "CRIME-LA", "adj_mx_la.pkl", n=4, shift=0)
    out = tmp_path / "quick"
    args = ["compare", "--benchmark", "hagen-la", "--models", "historical_average", "--quick"]
    result = CliRunner().invoke(app, [*args, "--seeds", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out / "runs.csv")["experiment"].astype(str).tolist() == ["8"]
    refused = CliRunner().invoke(app, [*args, "--bin", "1h", "--out", str(tmp_path / "x")])
    assert refused.exit_code != 0 and "--bin do not apply to a benchmark" in refused.output
    unknown = CliRunner().invoke(app, ["compare", "--benchmark", "hagen-mars"])
    assert unknown.exit_code != 0 and "unknown benchmark 'hagen-mars'" in unknown.output


def test_a_benchmark_not_fetched_says_how_to_fetch_it(root, tmp_path: Path) -> None:  # noqa: F811
    result = CliRunner().invoke(
        app, ["compare", "--benchmark", "sthsl-chi", "--out", str(tmp_path / "x")]
    )
    assert result.exit_code != 0
    assert "fase datasets fetch sthsl-chi" in result.output
