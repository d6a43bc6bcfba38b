"""evaluate_forecast: tables agree with the metric functions and are strict JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from fase.errors import FaseInputError
from fase.evaluation import (
    evaluate_forecast,
    hotspot_scores,
    interval_coverage,
    mae,
    render_markdown,
    rmse,
)
from fase.tables import markdown_table


def _forecast(seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    n = 6
    rate = np.array([3.0, 1.5, 0.6, 0.2, 0.05, 0.0])  # dense … always-zero nodes
    train = rng.poisson(rate, size=(200, n))
    mu = rate + rng.uniform(0.01, 0.3, size=(50, n))
    y = rng.poisson(rate, size=(50, n))
    area = rng.uniform(1.0, 5.0, size=n)
    return y, mu, stats.poisson.logpmf(y, mu), lambda q: stats.poisson.ppf(q, mu), area, train


def test_report_tables_agree_with_the_metric_functions() -> None:
    y, mu, log_prob, quantile, area, train = _forecast()
    report = evaluate_forecast(y, mu, log_prob, quantile, area, train)
    assert (report["bins"], report["nodes"]) == (50, 6)
    overall = report["overall"]
    assert overall["counts"]["mae"] == pytest.approx(mae(y, mu))
    assert overall["counts"]["nll"] == pytest.approx(-log_prob.mean())
    assert [(r["mode"], r["coverage"]) for r in overall["hotspots"]] == [
        ("count", 0.05),
        ("count", 0.1),
        ("count", 0.2),
        ("area", 0.05),
        ("area", 0.1),
        ("area", 0.2),
    ]
    area_10 = hotspot_scores(mu, y, 0.1, area, mode="area").summary()
    assert overall["hotspots"][4]["pai_pooled"] == pytest.approx(area_10["pai_pooled"])
    lo, hi = quantile(0.1), quantile(0.9)
    assert overall["intervals"][1]["coverage"] == pytest.approx(interval_coverage(y, lo, hi))

    per_node = report["per_node"]
    assert [row["node"] for row in per_node] == list(range(6))
    np.testing.assert_allclose([row["rmse"] for row in per_node], rmse(y, mu, axis=0))
    np.testing.assert_allclose(
        [row["coverage_80"] for row in per_node], interval_coverage(y, lo, hi, axis=0)
    )
    assert per_node[5]["zero_share_train"] == 1.0 and per_node[5]["bucket"] == "[0.95, 1]"
    assert per_node[0]["bucket"] == "[0, 0.5)"

    by_bucket = {row["bucket"]: row for row in report["per_bucket"]}
    sparse = [row["node"] for row in per_node if row["bucket"] == "[0.95, 1]"]
    assert by_bucket["[0.95, 1]"]["n_nodes"] == len(sparse)
    assert by_bucket["[0.95, 1]"]["mae"] == pytest.approx(mae(y[:, sparse], mu[:, sparse]))
    assert by_bucket["[0.95, 1]"]["coverage_50"] == pytest.approx(
        interval_coverage(y[:, sparse], quantile(0.25)[:, sparse], quantile(0.75)[:, sparse])
    )
    json.dumps(report, allow_nan=False)  # strict JSON: no NaN, no numpy scalars


def test_undefined_and_infinite_values_become_null() -> None:
    y, mu, log_prob, quantile, area, train = _forecast(1)
    log_prob[0, 0] = -np.inf  # an observation the model called impossible
    report = evaluate_forecast(
        y, mu, log_prob, quantile, area, train, bucket_edges=(0, 0.3, 0.31, 1)
    )
    assert report["overall"]["counts"]["nll"] is None
    assert report["per_node"][0]["nll"] is None
    empty = [row for row in report["per_bucket"] if row["n_nodes"] == 0]
    assert empty and all(row["mae"] is None and row["coverage_90"] is None for row in empty)
    json.dumps(report, allow_nan=False)


def test_markdown_rendering() -> None:
    y, mu, log_prob, quantile, area, train = _forecast()
    text = render_markdown(evaluate_forecast(y, mu, log_prob, quantile, area, train))
    for heading in (
        "## Count metrics",
        "## Hotspots",
        "## Interval coverage",
        "## By training sparsity",
    ):
        assert heading in text
    assert (
        markdown_table([{"a": 0.5, "b": None, "c": "x"}])
        == "| a | b | c |\n|---|---|---|\n| 0.5000 | – | x |\n"
    )


def test_node_count_mismatch_raises() -> None:
    y, mu, log_prob, quantile, area, train = _forecast()
    with pytest.raises(FaseInputError, match="train_counts"):
        evaluate_forecast(y, mu, log_prob, quantile, area, train[:, :5])


def test_expected_ties_apply_to_count_mode_only() -> None:
    y, mu, log_prob, quantile, area, train = _forecast()
    flat = np.ones_like(mu)  # every area tied
    report = evaluate_forecast(y, flat, log_prob, quantile, area, train, ties="expected")
    rows = report["overall"]["hotspots"]
    assert [r["ties"] for r in rows] == ["expected"] * 3 + ["index"] * 3
    # count mode, c = 0.2: k = 2 of 6 areas, each w = 1/3 → hit rate 1/3 in every bin with crimes
    assert rows[2]["hit_rate_mean"] == pytest.approx(1 / 3)
