"""Hotspot metrics: hit rate, PAI (Chainey et al. 2008) and PEI (Hunt 2016).

In every time bin t the areas are ranked by predicted risk (higher = riskier) and the
top ones are *flagged* as hotspots, up to a coverage c ∈ (0, 1]:

* ``mode="count"``: the k = ceil(c·N) highest-risk areas (at least one). A tolerance
  of 1e-9 keeps c·N = 2.0000000000000004 at k = 2.
* ``mode="area"``: areas in descending risk order until their cumulative land area
  reaches c·A (A = total area). The area that crosses c·A *is* flagged, so the
  flagged area a_t ≥ c·A and at least one area is flagged.

With w_tn ∈ [0, 1] the flag (membership) of area n in bin t, y the observed counts,
s_n the land area (km²) and A = Σ s_n::

    hits_t   = Σ_n w_tn·y_tn           crimes_t = Σ_n y_tn
    HR_t     = hits_t / crimes_t        (share of the bin's crimes in flagged areas)
    a_t / A  = Σ_n w_tn·s_n / A         (share of the land flagged; the actual share, not c)
    PAI_t    = HR_t / (a_t / A)
    PEI_t    = hits_t / oracle_t

The oracle knows the true counts and spends the same budget as the forecast: k areas
(count mode) or a_t km² (area mode). oracle_t is the optimum of the fractional
knapsack  max Σ x_n·y_tn  s.t. Σ x_n·b_n ≤ budget, 0 ≤ x ≤ 1, with b_n = 1 (count
mode) or b_n = s_n (area mode), solved greedily by crimes per unit of budget. In count
mode this is exactly the sum of the k largest counts. In area mode it is an upper
bound on any selection of whole areas with area ≤ a_t, so PEI ≤ 1 always holds (the
forecast's own selection is one such selection).

Bins without crimes (crimes_t = 0) have undefined HR, PAI and PEI (NaN per bin) and
are left out of the per-bin means. Pooled scores treat the test period as one
space-time region: HR = Σ hits / Σ crimes, PAI = HR / (Σ_t a_t / (T·A)) over all T
bins, PEI = Σ hits / Σ oracle.

Ties in predicted risk:

* ``ties="index"``: the lower node index ranks first (a stable sort); deterministic
  but dependent on node order.
* ``ties="expected"`` (count mode only): the expectation over a uniformly random order
  within ties. Areas strictly above the k-th largest risk r* get w = 1; the m areas
  tied at r* share the remaining k − g places (g = areas above r*): w = (k − g)/m.
  hits, a_t and so HR, PAI, PEI are then expected values (PAI and PEI are ratios of
  expectations). With all risks equal every area gets w = k/N. In area mode the
  expectation would depend on subset sums of unequal areas; it is not offered.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from fase.errors import FaseInputError
from fase.evaluation.counts import check_counts, check_same_shape

Mode = Literal["count", "area"]
Ties = Literal["index", "expected"]

DEFAULT_COVERAGES: tuple[float, ...] = (0.05, 0.10, 0.20)
_COVERAGE_TOLERANCE = 1e-9


def n_flagged(coverage: float, n_areas: int) -> int:
    """Areas flagged in count mode: k = ceil(c·N), at least 1, at most N."""
    _check_coverage(coverage)
    return min(n_areas, max(1, math.ceil(coverage * n_areas - _COVERAGE_TOLERANCE)))


def _check_coverage(coverage: float) -> None:
    if not 0.0 < coverage <= 1.0:
        raise FaseInputError("coverage", f"must lie in (0, 1], got {coverage}")


def _check_risk(risk: np.ndarray) -> np.ndarray:
    r = np.asarray(risk, dtype=float)
    if r.ndim != 2 or r.size == 0:
        raise FaseInputError("risk", f"expected a non-empty (T, N) array, got shape {r.shape}")
    if not np.all(np.isfinite(r)):
        raise FaseInputError("risk", "predicted risk must be finite (found NaN or ±inf)")
    return r


def _check_area(area: np.ndarray | None, n_areas: int) -> np.ndarray:
    if area is None:
        return np.ones(n_areas)
    s = np.asarray(area, dtype=float)
    if s.shape != (n_areas,):
        raise FaseInputError("area_km2", f"expected shape ({n_areas},), got {s.shape}")
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise FaseInputError(
            "area_km2",
            "every land area must be finite and > 0",
            "a zero-area polygon is degenerate; fix or drop it before evaluating",
        )
    return s


def _descending_order(risk: np.ndarray) -> np.ndarray:
    """(T, N) node indices by descending risk; ties keep the lower index first."""
    return np.argsort(-risk, axis=1, kind="stable")


def flag_hotspots(
    risk: np.ndarray,
    coverage: float,
    area: np.ndarray | None = None,
    mode: Mode = "count",
    ties: Ties = "index",
) -> np.ndarray:
    """Hotspot membership w of each area in each bin, (T, N) float in [0, 1].

    Args:
        risk: (T, N) predicted risk, e.g. the expected count; higher is riskier.
        coverage: c ∈ (0, 1], the share of areas (count mode) or of land (area mode).
        area: (N,) land area in km² (> 0); None means all areas are equal.
        mode: ``"count"`` (top ceil(c·N) areas) or ``"area"`` (top areas until c·A).
        ties: ``"index"`` (lower node index first; w ∈ {0, 1}) or ``"expected"``
            (count mode only; fractional w for areas tied at the boundary).

    Returns:
        w with Σ_n w_tn = k in count mode (both tie rules).
    """
    r = _check_risk(risk)
    s = _check_area(area, r.shape[1])
    _check_coverage(coverage)
    if ties not in ("index", "expected"):
        raise FaseInputError("ties", f"must be 'index' or 'expected', got {ties!r}")
    if mode == "count":
        k = n_flagged(coverage, r.shape[1])
        return _flag_expected(r, k) if ties == "expected" else _flag_top(r, k)
    if mode != "area":
        raise FaseInputError("mode", f"must be 'count' or 'area', got {mode!r}")
    if ties == "expected":
        raise FaseInputError(
            "ties", "'expected' is defined for mode='count' only", "use ties='index'"
        )
    order = _descending_order(r)
    sorted_area = s[order]
    area_before = np.cumsum(sorted_area, axis=1) - sorted_area
    threshold = coverage * s.sum() - _COVERAGE_TOLERANCE * s.sum()
    flags = np.zeros_like(r)
    np.put_along_axis(flags, order, (area_before < threshold).astype(float), axis=1)
    return flags


def _flag_top(risk: np.ndarray, k: int) -> np.ndarray:
    flags = np.zeros_like(risk)
    np.put_along_axis(flags, _descending_order(risk)[:, :k], 1.0, axis=1)
    return flags


def _flag_expected(risk: np.ndarray, k: int) -> np.ndarray:
    kth = -np.sort(-risk, axis=1)[:, k - 1 : k]
    above = risk > kth
    tied = risk == kth
    share = (k - above.sum(axis=1, keepdims=True)) / tied.sum(axis=1, keepdims=True)
    return above + tied * share


def oracle_hits(y_true: np.ndarray, size: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """Most crimes capturable per bin with a budget: the fractional knapsack, (T,).

    max Σ_n x_n·y_tn  s.t.  Σ_n x_n·size_n ≤ budget_t, 0 ≤ x ≤ 1, solved by taking
    areas in descending crimes per unit size, the last one partly.

    Args:
        y_true: (T, N) observed counts.
        size: (N,) cost of flagging each area (> 0): 1 per area, or km².
        budget: (T,) budget per bin, in the unit of ``size``.
    """
    density = y_true / size
    order = np.argsort(-density, axis=1, kind="stable")
    sorted_size = size[order]
    before = np.cumsum(sorted_size, axis=1) - sorted_size
    taken = np.clip((budget[:, None] - before) / sorted_size, 0.0, 1.0)
    return (taken * np.take_along_axis(y_true, order, axis=1)).sum(axis=1)


@dataclass(frozen=True)
class HotspotScores:
    """Per-bin hotspot outcomes at one coverage; all arrays are (T,).

    Attributes:
        coverage, mode, ties: the selection rule used.
        hits: crimes in flagged areas (expected value under ``ties="expected"``).
        crimes: all crimes in the bin.
        area_share: a_t / A, the share of land flagged.
        flagged: number of areas flagged (Σ_n w_tn).
        oracle: the oracle's hits with the same budget (see module docstring).
    """

    coverage: float
    mode: Mode
    ties: Ties
    hits: np.ndarray
    crimes: np.ndarray
    area_share: np.ndarray
    flagged: np.ndarray
    oracle: np.ndarray

    @property
    def hit_rate(self) -> np.ndarray:
        """HR_t = hits_t / crimes_t; NaN where the bin has no crimes."""
        return _ratio(self.hits, self.crimes)

    @property
    def pai(self) -> np.ndarray:
        """PAI_t = HR_t / (a_t / A); NaN where the bin has no crimes."""
        return self.hit_rate / self.area_share

    @property
    def pei(self) -> np.ndarray:
        """PEI_t = hits_t / oracle_t ∈ [0, 1]; NaN where the bin has no crimes."""
        return _ratio(self.hits, self.oracle)

    def summary(self) -> dict[str, float | int | str | None]:
        """Per-bin means (over bins with crimes) and pooled scores, JSON-ready.

        Keys: coverage, mode, ties, bins, bins_with_crimes, mean_flagged,
        mean_area_share, hit_rate_mean, hit_rate_pooled, pai_mean, pai_pooled,
        pei_mean, pei_pooled. Scores are None when no bin has a crime.
        """
        scored = self.crimes > 0
        share = float(self.area_share.mean())
        row: dict[str, float | int | str | None] = {
            "coverage": self.coverage,
            "mode": self.mode,
            "ties": self.ties,
            "bins": int(self.crimes.size),
            "bins_with_crimes": int(scored.sum()),
            "mean_flagged": float(self.flagged.mean()),
            "mean_area_share": share,
        }
        if not scored.any():
            names = ("hit_rate", "pai", "pei")
            return row | {f"{n}_{kind}": None for n in names for kind in ("mean", "pooled")}
        pooled_hit_rate = float(self.hits.sum() / self.crimes.sum())
        return row | {
            "hit_rate_mean": float(self.hit_rate[scored].mean()),
            "hit_rate_pooled": pooled_hit_rate,
            "pai_mean": float(self.pai[scored].mean()),
            "pai_pooled": pooled_hit_rate / share,
            "pei_mean": float(self.pei[scored].mean()),
            "pei_pooled": float(self.hits.sum() / self.oracle.sum()),
        }


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.where(denominator > 0, numerator / safe, np.nan)


def hotspot_scores(
    risk: np.ndarray,
    y_true: np.ndarray,
    coverage: float,
    area: np.ndarray | None = None,
    mode: Mode = "count",
    ties: Ties = "index",
) -> HotspotScores:
    """Flag hotspots by ``risk`` and score them against the observed counts.

    Args:
        risk: (T, N) predicted risk (higher is riskier).
        y_true: (T, N) observed counts (≥ 0).
        coverage, area, mode, ties: as in :func:`flag_hotspots`.

    Returns:
        :class:`HotspotScores` with (T,) hits, crimes, area share, flagged, oracle.
    """
    y = check_counts("y_true", y_true)
    check_same_shape(y, risk=risk)
    s = _check_area(area, y.shape[1])
    w = flag_hotspots(risk, coverage, s, mode, ties)
    size = np.ones_like(s) if mode == "count" else s
    return HotspotScores(
        coverage=coverage,
        mode=mode,
        ties=ties,
        hits=(w * y).sum(axis=1),
        crimes=y.sum(axis=1),
        area_share=(w @ s) / s.sum(),
        flagged=w.sum(axis=1),
        oracle=oracle_hits(y, size, w @ size),
    )


def hotspot_table(
    risk: np.ndarray,
    y_true: np.ndarray,
    area: np.ndarray | None = None,
    coverages: Sequence[float] = DEFAULT_COVERAGES,
    modes: Sequence[Mode] = ("count", "area"),
    ties: Ties = "index",
) -> list[dict[str, float | int | str | None]]:
    """:meth:`HotspotScores.summary` rows for every mode × coverage (mode-major order)."""
    return [
        hotspot_scores(risk, y_true, c, area, mode, ties).summary()
        for mode in modes
        for c in coverages
    ]
