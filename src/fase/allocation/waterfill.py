"""Exact water-filling: find the level θ at which Σ_v clip(w_v·θ + a_v, lo, hi) = S.

Both non-linear policies reduce to it:

* ``proportional``: w_v = μ_v, a_v = 0 (patrol ∝ risk, clipped at the cap);
* ``diminishing``: w_v = 1, a_v = κ·ln μ_v (the optimality condition of
  Σ μ_v(1 − e^{−p_v/κ}) is p_v = clip(κ ln μ_v + θ, lo, hi)).

The sum g(θ) is non-decreasing and piecewise linear with breakpoints (lo − a_v)/w_v and
(hi − a_v)/w_v, so it is inverted exactly: sort the 2n breakpoints once per row,
accumulate g at them, and interpolate. Areas with w_v = 0 ("inactive", e.g. zero
risk) stay at ``lo``; a total beyond what the active areas can hold is shared
equally by the inactive ones (each up to ``hi``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LevelFill:
    """The fill curve g(θ) = Σ_v clip(w_v·θ + a_v, lo, hi) of each row, ready to invert.

    Build with :meth:`build`. Shapes: t rows (steps), n areas.
    """

    weights: np.ndarray  # (t, n), ≥ 0
    offsets: np.ndarray  # (t, n)
    lo: float
    hi: float
    breaks: np.ndarray  # (t, 2n) sorted breakpoints, +inf for inactive areas
    values: np.ndarray  # (t, 2n) g at each breakpoint, +inf where the breakpoint is
    slopes: np.ndarray  # (t, 2n) slope of g right of each breakpoint
    n_inactive: np.ndarray  # (t,)
    active_capacity: np.ndarray  # (t,) g(+inf): active areas at hi, inactive at lo

    @classmethod
    def build(cls, weights: np.ndarray, offsets: np.ndarray, lo: float, hi: float) -> LevelFill:
        """Precompute the breakpoints of g for weights, offsets (t, n) and bounds lo ≤ hi."""
        weights = np.asarray(weights, dtype=float)
        active = weights > 0
        safe_w = np.where(active, weights, 1.0)
        lower = np.where(active, (lo - offsets) / safe_w, np.inf)
        upper = np.where(active, (hi - offsets) / safe_w, np.inf)
        breaks = np.concatenate([lower, upper], axis=1)
        step = np.where(active, weights, 0.0)
        increments = np.concatenate([step, -step], axis=1)
        order = np.argsort(breaks, axis=1, kind="stable")
        breaks = np.take_along_axis(breaks, order, axis=1)
        slopes = np.maximum(np.cumsum(np.take_along_axis(increments, order, axis=1), axis=1), 0.0)
        finite = np.isfinite(breaks)
        gaps = np.where(finite[:, 1:], np.diff(np.where(finite, breaks, 0.0), axis=1), 0.0)
        rise = np.cumsum(slopes[:, :-1] * gaps, axis=1)
        n = weights.shape[1]
        values = n * lo + np.concatenate([np.zeros((weights.shape[0], 1)), rise], axis=1)
        n_active = active.sum(axis=1)
        return cls(
            weights=weights,
            offsets=np.asarray(offsets, dtype=float),
            lo=lo,
            hi=hi,
            breaks=breaks,
            values=np.where(finite, values, np.inf),
            slopes=slopes,
            n_inactive=n - n_active,
            active_capacity=n_active * hi + (n - n_active) * lo,
        )

    def level(self, total: np.ndarray) -> np.ndarray:
        """θ (t,) with g(θ) = total, clamped to [first, last breakpoint]; NaN if no area is active.

        Where g is flat at ``total`` the right end of the flat part is returned.
        """
        total = np.asarray(total, dtype=float)
        rows = np.arange(self.breaks.shape[0])
        if self.breaks.shape[1] == 0:
            return np.full(rows.size, np.nan)
        k = np.clip((self.values <= total[:, None]).sum(axis=1) - 1, 0, self.breaks.shape[1] - 1)
        base, value, slope = self.breaks[rows, k], self.values[rows, k], self.slopes[rows, k]
        safe = np.where(slope > 0, slope, 1.0)
        theta = np.where(slope > 0, base + np.maximum(total - value, 0.0) / safe, base)
        return np.where(np.isfinite(base), theta, np.nan)

    def amounts(self, total: np.ndarray) -> np.ndarray:
        """(t, n) amounts summing to ``total`` (t,), which must lie in [n·lo, n·hi]."""
        total = np.asarray(total, dtype=float)
        theta = self.level(np.minimum(total, self.active_capacity))
        active = self.weights > 0
        filled = np.clip(
            self.weights * np.nan_to_num(theta)[:, None] + self.offsets, self.lo, self.hi
        )
        overflow = np.maximum(total - self.active_capacity, 0.0)
        share = overflow / np.maximum(self.n_inactive, 1)
        idle = np.minimum(self.lo + share, self.hi)[:, None]
        return np.where(active, filled, idle)
