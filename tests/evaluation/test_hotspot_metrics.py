"""Hit rate, PAI and PEI on hand-computed cases; ties and edge cases."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from fase.errors import FaseInputError
from fase.evaluation import flag_hotspots, hotspot_scores, hotspot_table, n_flagged

# One bin, five areas.      node:  0    1    2    3    4
RISK = np.array([[0.9, 0.5, 0.7, 0.1, 0.3]])
Y = np.array([[3, 1, 0, 4, 2]])  # 10 crimes
AREA = np.array([1.0, 2.0, 3.0, 4.0, 10.0])  # A = 20 km²
# risk order: 0, 2, 1, 4, 3; crimes per km²: 3, 0.5, 0, 1, 0.2


def test_count_mode_by_hand() -> None:
    # c = 0.2: k = ceil(0.2·5) = 1 → node 0. hits 3, HR 3/10, a/A = 1/20 → PAI 6.
    # oracle: the single largest count, 4 → PEI 3/4.
    s = hotspot_scores(RISK, Y, 0.2, AREA).summary()
    assert s["mean_flagged"] == 1
    assert s["hit_rate_pooled"] == pytest.approx(0.3)
    assert s["mean_area_share"] == pytest.approx(0.05)
    assert s["pai_pooled"] == pytest.approx(6.0)
    assert s["pei_pooled"] == pytest.approx(0.75)
    # c = 0.3: k = ceil(1.5) = 2 → nodes 0, 2. hits 3, a = 1 + 3 = 4 km² → PAI 0.3/0.2 = 1.5;
    # oracle 4 + 3 = 7 → PEI 3/7.
    s = hotspot_scores(RISK, Y, 0.3, AREA).summary()
    assert (s["hit_rate_mean"], s["pai_mean"], s["pei_mean"]) == pytest.approx((0.3, 1.5, 3 / 7))


def test_area_mode_by_hand() -> None:
    # c = 0.2: budget 4 km². Node 0 (area before it 0 < 4) and node 2 (1 < 4) are flagged;
    # node 1 starts at exactly 4, so it is not. a = 4 km², hits 3 → HR 0.3, PAI 1.5.
    # oracle with 4 km² by crimes/km²: node 0 (1 km², 3 crimes) + 3/4 of node 3 (3 crimes) = 6.
    s = hotspot_scores(RISK, Y, 0.2, AREA, mode="area")
    np.testing.assert_array_equal(flag_hotspots(RISK, 0.2, AREA, "area"), [[1, 0, 1, 0, 0]])
    assert (s.hit_rate[0], s.pai[0], s.oracle[0], s.pei[0]) == pytest.approx((0.3, 1.5, 6, 0.5))
    # c = 0.25: budget 5 km². Node 1 starts at 4 < 5 and crosses it: flagged, so a = 6 km²
    # (a/A = 0.3, not c). hits 3 + 0 + 1 = 4 → HR 0.4, PAI 4/3.
    # oracle with 6 km²: node 0 (3) + node 3 (4 km², 4) + 1 km² of node 1 (0.5) = 7.5.
    s = hotspot_scores(RISK, Y, 0.25, AREA, mode="area")
    assert s.area_share[0] == pytest.approx(0.3)
    assert (s.hit_rate[0], s.pai[0], s.pei[0]) == pytest.approx((0.4, 4 / 3, 4 / 7.5))


def test_ties_index_and_expected_by_hand() -> None:
    risk = np.array([[1.0, 2.0, 2.0, 2.0, 0.0]])
    y = np.array([[5, 1, 2, 3, 0]])  # 11 crimes; oracle for k = 2: 5 + 3 = 8
    # index: nodes 1, 2 (lower index first among the tied three) → hits 3
    s = hotspot_scores(risk, y, 0.4, ties="index")
    assert (s.hits[0], s.pei[0]) == pytest.approx((3, 3 / 8))
    # expected: the k = 2 places go to the three tied areas, w = 2/3 each
    np.testing.assert_allclose(
        flag_hotspots(risk, 0.4, ties="expected"), [[0, 2 / 3, 2 / 3, 2 / 3, 0]]
    )
    s = hotspot_scores(risk, y, 0.4, ties="expected")
    # hits 2/3·(1 + 2 + 3) = 4; HR 4/11; a/A = 2/5 → PAI 10/11; PEI 4/8
    assert (s.hits[0], s.hit_rate[0], s.pai[0], s.pei[0]) == pytest.approx(
        (4, 4 / 11, 10 / 11, 0.5)
    )


def test_expected_ties_equal_the_mean_over_all_node_orders() -> None:
    rng = np.random.default_rng(3)
    risk = rng.integers(0, 3, size=(4, 6)).astype(float)  # many ties
    y = rng.poisson(2.0, size=(4, 6))
    area = rng.uniform(0.5, 2.0, size=6)
    hits, shares = [], []
    for perm in itertools.permutations(range(6)):
        p = np.array(perm)
        s = hotspot_scores(risk[:, p], y[:, p], 0.34, area[p], ties="index")
        hits.append(s.hits)
        shares.append(s.area_share)
    s = hotspot_scores(risk, y, 0.34, area, ties="expected")
    np.testing.assert_allclose(s.hits, np.mean(hits, axis=0))
    np.testing.assert_allclose(s.area_share, np.mean(shares, axis=0))


def test_all_risks_equal() -> None:
    y = np.array([[1, 0, 4, 0, 0, 0, 2, 3, 0, 0]])
    flat = np.zeros((1, 10))
    s = hotspot_scores(flat, y, 0.2, ties="expected")  # every area w = 2/10
    assert (s.hit_rate[0], s.pai[0], s.pei[0]) == pytest.approx((0.2, 1.0, 0.2 * 10 / 7))
    s = hotspot_scores(flat, y, 0.2, ties="index")  # nodes 0, 1
    assert s.hits[0] == 1


def test_bins_without_crimes_are_left_out_of_means_only() -> None:
    risk = np.array([[2.0, 1.0, 0.0], [2.0, 1.0, 0.0], [0.0, 1.0, 2.0]])
    y = np.array([[1, 0, 1], [0, 0, 0], [3, 0, 0]])
    s = hotspot_scores(risk, y, 0.3)  # k = 1: node 0, node 0, node 2
    np.testing.assert_allclose(s.hit_rate, [0.5, np.nan, 0.0])
    np.testing.assert_allclose(s.pei, [1.0, np.nan, 0.0])
    summary = s.summary()
    assert summary["bins_with_crimes"] == 2
    assert summary["hit_rate_mean"] == pytest.approx(0.25)  # (0.5 + 0) / 2
    assert summary["hit_rate_pooled"] == pytest.approx(0.2)  # 1 / 5
    assert summary["pai_pooled"] == pytest.approx(0.2 * 3)  # area share 1/3 in every bin
    assert summary["pei_pooled"] == pytest.approx(1 / 4)  # oracle 1 + 0 + 3


def test_no_crimes_at_all_gives_none() -> None:
    s = hotspot_scores(np.ones((2, 4)), np.zeros((2, 4)), 0.5).summary()
    assert s["bins_with_crimes"] == 0
    assert s["hit_rate_mean"] is None and s["pai_pooled"] is None and s["pei_pooled"] is None


def test_full_coverage_catches_everything() -> None:
    rng = np.random.default_rng(1)
    risk, y = rng.random((5, 7)), rng.poisson(1.0, (5, 7)) + 1
    for mode in ("count", "area"):
        s = hotspot_scores(risk, y, 1.0, rng.uniform(1, 3, 7), mode=mode).summary()
        assert (s["hit_rate_pooled"], s["pai_pooled"], s["pei_pooled"]) == pytest.approx((1, 1, 1))


@pytest.mark.parametrize("n_areas", [20, 25, 3, 7])
@pytest.mark.parametrize("coverage", [0.05, 0.1, 0.2, 0.3])
def test_area_mode_with_equal_areas_matches_count_mode(n_areas: int, coverage: float) -> None:
    risk = np.random.default_rng(n_areas).random((3, n_areas))
    by_count = flag_hotspots(risk, coverage, mode="count")
    by_area = flag_hotspots(risk, coverage, np.full(n_areas, 2.5), mode="area")
    np.testing.assert_array_equal(by_count, by_area)


def test_n_flagged_rounds_up_without_float_noise() -> None:
    assert n_flagged(0.1, 20) == 2  # 0.1·20 = 2.0000000000000004 in floating point
    assert n_flagged(0.05, 25) == 2  # 1.25 → 2
    assert n_flagged(0.01, 25) == 1  # at least one area
    assert n_flagged(0.2, 25) == 5
    assert n_flagged(1.0, 25) == 25


def test_table_rows_in_mode_major_order() -> None:
    rows = hotspot_table(RISK, Y, AREA, coverages=(0.2, 0.25))
    assert [(r["mode"], r["coverage"]) for r in rows] == [
        ("count", 0.2),
        ("count", 0.25),
        ("area", 0.2),
        ("area", 0.25),
    ]


def test_bad_inputs_raise() -> None:
    with pytest.raises(FaseInputError, match="coverage"):
        hotspot_scores(RISK, Y, 0.0)
    with pytest.raises(FaseInputError, match="coverage"):
        hotspot_scores(RISK, Y, 1.5)
    with pytest.raises(FaseInputError, match="area_km2"):
        hotspot_scores(RISK, Y, 0.2, np.array([1.0, 0.0, 1.0, 1.0, 1.0]), mode="area")
    with pytest.raises(FaseInputError, match="area_km2"):
        hotspot_scores(RISK, Y, 0.2, np.ones(4))
    with pytest.raises(FaseInputError, match="risk"):
        hotspot_scores(np.array([[np.nan, 0, 0, 0, 0]]), Y, 0.2)
    with pytest.raises(FaseInputError, match="ties"):
        hotspot_scores(RISK, Y, 0.2, AREA, mode="area", ties="expected")
    with pytest.raises(FaseInputError, match="mode"):
        hotspot_scores(RISK, Y, 0.2, mode="cells")  # type: ignore[arg-type]
    with pytest.raises(FaseInputError, match="shape"):
        hotspot_scores(RISK[:, :4], Y, 0.2)
