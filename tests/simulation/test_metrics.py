"""Per-cycle metrics on a hand-computed 3-bin × 4-area example.

Minority areas {0, 1}, majority {2, 3}, B = 10, d = 0.3 + 0.6·p/10.

    patrol p              risk μ             true y          observed o = d·y
    t0  [6, 0, 4, 0]      [3, 1, 2, 0]       [2, 0, 1, 0]    [1.32, 0,    0.54, 0   ]
    t1  [0, 5, 0, 5]      [1, 2, 1, 4]       [0, 3, 0, 0]    [0,    1.8,  0,    0   ]
    t2  [2, 2, 2, 4]      [0, 0, 0, 0]       [1, 1, 0, 2]    [0.42, 0.42, 0,    1.08]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fase.allocation.groups import Groups
from fase.simulation.deployment import CycleOutcome, Deployment, PeriodForecast
from fase.simulation.metrics import PAPER_COLUMNS, cycle_metrics, paper_row, per_area
from fase.simulation.runner import aggregate

S = 1e-6
GROUPS = Groups.from_minority([True, True, False, False])
PATROL = np.array([[6.0, 0, 4, 0], [0, 5, 0, 5], [2, 2, 2, 4]])
RISK = np.array([[3.0, 1, 2, 0], [1, 2, 1, 4], [0, 0, 0, 0]])
TRUE = np.array([[2.0, 0, 1, 0], [0, 3, 0, 0], [1, 1, 0, 2]])
OBSERVED = np.array([[1.32, 0, 0.54, 0], [0, 1.8, 0, 0], [0.42, 0.42, 0, 1.08]])


@pytest.fixture
def outcome() -> CycleOutcome:
    forecast = PeriodForecast(RISK, RISK, lambda y: -np.asarray(y, float))  # NLL = mean count
    d = 0.3 + 0.6 * PATROL / 10
    np.testing.assert_allclose(TRUE * d, OBSERVED)  # the table above is consistent
    dep = Deployment(40, 43, forecast, RISK, PATROL, d, TRUE, OBSERVED, passes=2)
    return CycleOutcome(1, dep, [0.5, 0.3, 0.2], np.arange(10))


def test_paper_row_by_hand(outcome):
    row = paper_row(outcome, GROUPS, budget=10.0)
    assert tuple(row) == PAPER_COLUMNS
    dirs = np.array([(3 + S) / (2 + S), (2.5 + S) / (2.5 + S), (2 + S) / (3 + S)])
    expected = {
        "cycle": 2,
        "zinb_loss_mean": 1.0 / 3.0,
        "zinb_loss_final": 0.2,
        "dir_mean": dirs.mean(),
        "dir_std": np.sqrt(((dirs - dirs.mean()) ** 2).mean()),
        # sorted p: [0,0,4,6] → (2·36 − 5·10)/40; [0,0,5,5] → (70 − 50)/40; [2,2,2,4] → (56 − 50)/40
        "gini_mean": (0.55 + 0.5 + 0.15) / 3,
        # μᵀp/(B·max μ): 26/30, 30/40, and 0 where max μ = 0
        "coverage_mean": (26 / 30 + 0.75 + 0.0) / 3,
        "mean_min_patrol": 15 / 6,
        "mean_maj_patrol": 15 / 6,
        "obs_dir_mean": np.mean([(0.66 + S) / (0.27 + S), (0.9 + S) / S, (0.42 + S) / (0.54 + S)]),
        "true_dir_mean": np.mean([(1 + S) / (0.5 + S), (1.5 + S) / S, (1 + S) / (1 + S)]),
        "detection_ratio_min": 3.96 / (7 + 1e-9),
        "detection_ratio_maj": 1.62 / (3 + 1e-9),
    }
    for name, value in expected.items():
        assert row[name] == pytest.approx(value, rel=1e-12), name
    assert row["obs_dir_mean"] > 3e5  # the reference's smoothing artefact (hour t1)


def test_cycle_metrics_by_hand(outcome):
    row = cycle_metrics(outcome, GROUPS, budget=10.0)
    dirs = np.array([1.5, 1.0, 2 / 3])
    expected = {
        "cycle": 2,
        "period_start": 40,
        "period_end": 43,
        "forecast_passes": 2,
        "loss_mean": 1 / 3,
        "loss_final": 0.2,
        "retrain_bins": 10,
        "dir_mean": dirs.mean(),
        "dir_std": dirs.std(),
        "dir_undefined_bins": 0,
        "gini_mean": 0.4,
        "coverage_mean": (26 / 30 + 0.75) / 2,  # the bin with max μ = 0 is undefined
        "risk_share_mean": (5 / 6 + 6 / 8) / 2,
        "patrolled_areas_mean": 8 / 3,
        "mean_min_patrol": 2.5,
        "mean_maj_patrol": 2.5,
        "patrol_share_minority": 0.5,
        "patrol_share_majority": 0.5,
        "patrol_share_unknown": 0.0,
        "detection_min": 3.96 / 7,
        "detection_maj": 0.54,
        "detection_gap": 3.96 / 7 - 0.54,
        "forecast_mae_true": 14 / 12,
        "forecast_mae_observed": np.abs(RISK - OBSERVED).mean(),
        "forecast_nll_true": 10 / 12,
        "forecast_nll_observed": OBSERVED.sum() / 12,
        "true_total": 10.0,
        "observed_total": 5.58,
    }
    assert set(row) == set(expected)
    for name, value in expected.items():
        assert row[name] == pytest.approx(value, rel=1e-12), name


def test_per_area_by_hand(outcome):
    arrays = per_area(outcome)
    np.testing.assert_allclose(arrays["true_count"], [3, 4, 1, 2])
    np.testing.assert_allclose(arrays["observed_count"], [1.74, 2.22, 0.54, 1.08])
    np.testing.assert_allclose(arrays["detection_rate"], [0.58, 0.555, 0.54, 0.54])
    np.testing.assert_allclose(arrays["mean_patrol"], [8 / 3, 7 / 3, 2, 3])
    np.testing.assert_allclose(arrays["mean_risk"], [4 / 3, 1, 1, 4 / 3])


def test_detection_rate_undefined_without_incidents(outcome):
    empty = Deployment(0, 3, outcome.deployment.forecast, RISK, PATROL, PATROL, 0 * TRUE, 0 * TRUE)
    row = cycle_metrics(CycleOutcome(0, empty, [], np.zeros(0)), GROUPS, budget=10.0)
    assert np.isnan(row["detection_min"]) and np.isnan(row["loss_mean"])
    assert np.isnan(per_area(CycleOutcome(0, empty, [], np.zeros(0)))["detection_rate"]).all()


def test_aggregate_over_replicates_mean_and_interval():
    rows = [[{"cycle": 1, "gap": v}] for v in (1.0, 2.0, 3.0)]
    table = aggregate(rows, interval=0.95)
    assert list(table.columns) == ["cycle", "gap", "gap_lo", "gap_hi"]
    # linear interpolation of the 2.5% and 97.5% points of {1, 2, 3}
    pd.testing.assert_frame_equal(
        table, pd.DataFrame({"cycle": [1], "gap": [2.0], "gap_lo": [1.05], "gap_hi": [2.95]})
    )
    single = aggregate([[{"cycle": 1, "gap": 4.0}]], interval=0.95)
    assert list(single.columns) == ["cycle", "gap"]
