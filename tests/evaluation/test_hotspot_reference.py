"""Vectorised hotspot scores against naive per-bin loops and an LP solver (HiGHS)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from fase.evaluation import hotspot_scores

T, N = 30, 13


def _case(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    risk = rng.integers(0, 6, size=(T, N)).astype(float)  # integer risks: plenty of ties
    y = rng.poisson(0.8, size=(T, N))
    y[::7] = 0  # some bins without crimes
    return risk, y, rng.uniform(0.3, 5.0, size=N)


def _naive(risk, y, area, coverage, mode):  # type: ignore[no-untyped-def]
    """Plain-Python hit rate and PAI per bin (None where the bin has no crimes)."""
    total_area = sum(area)
    hit_rates, pais, shares = [], [], []
    for t in range(len(risk)):
        order = sorted(range(N), key=lambda n: (-risk[t][n], n))
        flagged: list[int] = []
        if mode == "count":
            k = next(j for j in range(1, N + 1) if j / N >= coverage - 1e-12)
            flagged = order[:k]
        else:
            covered = 0.0
            for n in order:
                if covered >= coverage * total_area - 1e-9:
                    break
                flagged.append(n)
                covered += area[n]
        share = sum(area[n] for n in flagged) / total_area
        crimes = sum(y[t])
        shares.append(share)
        if crimes == 0:
            hit_rates.append(None)
            pais.append(None)
            continue
        hit_rate = sum(y[t][n] for n in flagged) / crimes
        hit_rates.append(hit_rate)
        pais.append(hit_rate / share)
    return hit_rates, pais, shares


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("mode", ["count", "area"])
@pytest.mark.parametrize("coverage", [0.05, 0.1, 0.2, 0.37])
def test_hit_rate_and_pai_match_a_naive_loop(seed: int, mode: str, coverage: float) -> None:
    risk, y, area = _case(seed)
    s = hotspot_scores(risk, y, coverage, area, mode=mode)  # type: ignore[arg-type]
    hit_rates, pais, shares = _naive(risk.tolist(), y.tolist(), area.tolist(), coverage, mode)
    nan = float("nan")
    np.testing.assert_allclose(s.hit_rate, [nan if h is None else h for h in hit_rates])
    np.testing.assert_allclose(s.pai, [nan if p is None else p for p in pais])
    np.testing.assert_allclose(s.area_share, shares)
    scored = [t for t in range(T) if hit_rates[t] is not None]
    summary = s.summary()
    assert summary["hit_rate_mean"] == pytest.approx(np.mean([hit_rates[t] for t in scored]))
    assert summary["pai_mean"] == pytest.approx(np.mean([pais[t] for t in scored]))


@pytest.mark.parametrize("mode", ["count", "area"])
def test_oracle_is_the_lp_optimum(mode: str) -> None:
    risk, y, area = _case(2)
    s = hotspot_scores(risk, y, 0.2, area, mode=mode)  # type: ignore[arg-type]
    size = np.ones(N) if mode == "count" else area
    budget = s.flagged if mode == "count" else s.area_share * area.sum()
    for t in range(0, T, 3):
        lp = linprog(-y[t], A_ub=size[None, :], b_ub=[budget[t]], bounds=(0, 1), method="highs")
        assert s.oracle[t] == pytest.approx(-lp.fun, abs=1e-9)


def test_area_pei_never_exceeds_one_and_bounds_whole_area_oracle() -> None:
    rng = np.random.default_rng(5)
    n = 9
    y = rng.poisson(1.5, size=(6, n))
    area = rng.uniform(0.5, 4.0, size=n)
    s = hotspot_scores(rng.random((6, n)), y, 0.25, area, mode="area")
    budget = s.area_share * area.sum()
    subsets = [np.array(c) for r in range(1, n + 1) for c in itertools.combinations(range(n), r)]
    for t in range(6):
        best_whole = max(y[t, c].sum() for c in subsets if area[c].sum() <= budget[t] + 1e-9)
        assert best_whole <= s.oracle[t] + 1e-9
        assert s.hits[t] <= best_whole  # the forecast's own pick is a whole-area selection
    assert np.nanmax(s.pei) <= 1.0
