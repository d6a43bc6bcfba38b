"""Exact closed-form solution of the paper's DIR-constrained patrol LP, vectorised over steps.

The LP (paper eq. 9, generalised with a per-area floor f and "unknown" areas U that
belong to neither group), for each step t::

    maximise   μᵀp
    subject to Σ_v p_v ≤ B,   f ≤ p_v ≤ c,
               (1−ε)·p̄_maj ≤ p̄_min ≤ (1+ε)·p̄_maj      (only if both groups are non-empty)

where p̄_g is the mean patrol over group g's n_g areas. Write p = f + q, B_q = B − N·f,
c_q = min(c, B) − f (the cap c ≥ B never binds), Q_g = Σ_{v∈g} q_v and ρ = n₁/n₀
(1 = minority, 0 = majority). The DIR constraint becomes

    (1−ε)ρ·Q₀ − εn₁f ≤ Q₁ ≤ (1+ε)ρ·Q₀ + εn₁f.

Derivation (docs/allocation.md has the full text):

1. For fixed group totals, the best q fills each group's areas greedily in decreasing
   μ up to c_q (exchange argument), so the objective is F(Q₁, Q₀, Q_U) = Σ_g f_g(Q_g)
   with f_g concave and piecewise linear (slopes = the group's sorted μ).
2. Without the DIR rows the optimum is the global greedy fill of the positive-μ areas
   up to B_q. If it satisfies DIR it is optimal.
3. Otherwise it violates exactly one side, and by concavity an optimum lies on that
   side's boundary line (the segment from any feasible optimum to the relaxed optimum
   crosses it and F does not decrease along it). On the upper line parametrise
   Q₀ = s, Q₁ = r·s + δ (r = (1+ε)ρ, δ = εn₁f); on the lower line Q₁ = s,
   Q₀ = s/((1−ε)ρ) + εn₀f/(1−ε). Either way a "lead" group holds s and a "follow"
   group r·s + δ. The first δ of the follow group is forced; then every unit of s
   costs 1 + r budget and earns μ_lead[j] + r·μ_follow[i], where j, i are the areas
   being filled. The breakpoints in s (multiples of c_q for the lead group,
   (k·c_q − δ)/r for the follow group) do not depend on μ, so this "composite good"
   is a list of K ≤ n₀ + n₁ segments with non-increasing value per unit budget.
4. The composite good and the unknown areas (value μ per unit budget, length c_q)
   are two concave resources sharing the remaining budget B_q − δ: the exact optimum
   fills all their segments in decreasing value per unit budget, stopping at the
   budget or at the first segment whose value is ≤ 0.

Tie rule (deterministic): the relaxed greedy solution is returned whenever it is
feasible; areas are filled in decreasing μ with ties broken by the lower area index;
segments of zero or negative marginal value are never filled. Consequences: if every
μ ≤ 0 the allocation is the floor (zero patrol without a floor); an area with μ ≤ 0
receives patrol above the floor only when the DIR constraint forces its group to be
patrolled and that pays for itself elsewhere.

Cost: O(T·N log N) time, two sorts per step, no Python loop over steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fase.allocation.groups import Groups

_CHUNK_ELEMENTS = 1_000_000  # steps are solved in chunks of about this many (step, area) cells
_ARGMAX_PASSES = 8  # top-k by repeated argmax up to this k, else a full stable sort


@dataclass(frozen=True)
class _Line:
    """A DIR boundary line: lead total s, follow total r·s + delta (excess over the floor)."""

    lead: np.ndarray  # (n_lead,) area indices
    follow: np.ndarray  # (n_follow,) area indices
    ratio: float  # r > 0
    offset: float  # delta ≥ 0


def solve_dir_lp(
    mu: np.ndarray,
    minority: np.ndarray,
    budget: float = 60.0,
    epsilon: float | None = 0.05,
    cap: float | None = None,
    *,
    majority: np.ndarray | None = None,
    floor: float = 0.0,
) -> np.ndarray:
    """Solve the paper's patrol LP exactly for every step at once.

    Args:
        mu: (T, N) or (N,) risk per area and step (any finite real; the paper uses the
            predicted mean count, ≥ 0).
        minority: (N,) boolean, True for minority areas.
        budget: B, patrol units per step (≥ 0).
        epsilon: DIR tolerance ε in [0, 1); ``None`` drops the DIR constraint. The
            constraint is also dropped when either group is empty (as in the reference).
        cap: per-area upper bound c (≥ floor); ``None`` means B (never binding).
        majority: (N,) boolean; default ``~minority``. Areas in neither mask are
            "unknown": patrolled, but outside the DIR constraint.
        floor: minimum patrol f per area (N·f ≤ B).

    Returns:
        Patrol units, same shape as ``mu``, an exact optimum chosen by the tie rule in
        the module docstring.
    """
    risk = np.asarray(mu, dtype=float)
    if risk.ndim not in (1, 2):
        raise ValueError(f"mu must be (N,) or (T, N), got shape {risk.shape}")
    groups = Groups(minority, ~np.asarray(minority, bool) if majority is None else majority)
    n = groups.n_nodes
    if risk.shape[-1] != n:
        raise ValueError(f"mu has {risk.shape[-1]} areas but the group masks have {n}")
    if not np.all(np.isfinite(risk)):
        raise ValueError("mu must be finite")
    cap_eff = budget if cap is None else min(cap, budget)
    _check_scalars(budget, epsilon, cap_eff, floor, n)
    rows = risk.reshape(-1, n)
    out = np.empty_like(rows)
    chunk = max(1, _CHUNK_ELEMENTS // max(n, 1))
    for start in range(0, rows.shape[0], chunk):
        block = rows[start : start + chunk]
        out[start : start + chunk] = floor + _solve_excess(
            block, groups, budget - n * floor, cap_eff - floor, epsilon, floor
        )
    return out.reshape(risk.shape)


def _check_scalars(budget: float, epsilon: float | None, cap: float, floor: float, n: int) -> None:
    if not budget >= 0:
        raise ValueError(f"budget must be ≥ 0, got {budget}")
    if epsilon is not None and not 0 <= epsilon < 1:
        raise ValueError(f"epsilon must be in [0, 1), got {epsilon}")
    if not floor >= 0:
        raise ValueError(f"floor must be ≥ 0, got {floor}")
    if floor > cap:
        raise ValueError(f"floor {floor} exceeds the per-area cap {cap}")
    if n * floor > budget * (1 + 1e-12):
        raise ValueError(f"floor {floor} × {n} areas exceeds the budget {budget}")


def _solve_excess(
    risk: np.ndarray,
    groups: Groups,
    budget: float,
    cap: float,
    epsilon: float | None,
    floor: float,
) -> np.ndarray:
    """Excess patrol q = p − f for a block of steps: risk (t, N) → q (t, N)."""
    budget = max(budget, 0.0)
    q = fill_greedy(risk, np.full(risk.shape[0], budget), cap, positive_only=True)
    if epsilon is None or not groups.both_present:
        return q
    n1, n0 = int(groups.minority.sum()), int(groups.majority.sum())
    rho = n1 / n0
    r_hi, r_lo = (1 + epsilon) * rho, (1 - epsilon) * rho
    delta = epsilon * n1 * floor
    q1 = q @ groups.minority.astype(float)
    q0 = q @ groups.majority.astype(float)
    minority_idx = np.flatnonzero(groups.minority)
    majority_idx = np.flatnonzero(groups.majority)
    free_idx = np.flatnonzero(groups.unknown)
    upper = q1 > r_hi * q0 + delta
    lower = q1 < r_lo * q0 - delta
    for violated, line in (
        (upper, _Line(majority_idx, minority_idx, r_hi, delta)),
        (lower, _Line(minority_idx, majority_idx, 1 / r_lo, delta / r_lo)),
    ):
        rows = np.flatnonzero(violated)
        if rows.size:
            q[rows] = 0.0
            _solve_on_line(risk[rows], line, free_idx, budget, cap, q, rows)
    return q


def _solve_on_line(
    risk: np.ndarray,
    line: _Line,
    free: np.ndarray,
    budget: float,
    cap: float,
    out: np.ndarray,
    rows: np.ndarray,
) -> None:
    """Exact optimum on one DIR boundary line (steps 3–4 of the module docstring).

    Writes the excess patrol of the steps ``rows`` (whose risks are ``risk``) into
    ``out``, whose rows must be zero.
    """
    r, delta = line.ratio, line.offset
    s_max = max(0.0, min(line.lead.size * cap, (line.follow.size * cap - delta) / r))
    remaining = max(0.0, budget - delta)
    starts, ends = _composite_segments(line.lead.size, line.follow.size, cap, r, delta, s_max)
    length = (1 + r) * (ends - starts)
    used = np.cumsum(length) - length < remaining  # later segments can never be reached
    starts, ends, length = starts[used], ends[used], length[used]
    mid = 0.5 * (starts + ends)
    j = (mid / cap).astype(int) if cap > 0 else np.zeros(0, int)
    i = ((r * mid + delta) / cap).astype(int) if cap > 0 else j
    # The lead (follow) group is filled at most up to rank max(j) (max(i)); see fill_top.
    lead = _top(risk[:, line.lead], int(j.max(initial=-1)) + 1)
    follow = _top(risk[:, line.follow], int(i.max(initial=-1)) + 1)
    free_top = _top(risk[:, free], min(free.size, _ranks_needed(remaining, cap)))
    density = np.concatenate([(lead[1][:, j] + r * follow[1][:, i]) / (1 + r), free_top[1]], axis=1)
    length = np.concatenate([length, np.full(free_top[1].shape[1], cap)])
    order = np.argsort(-density, axis=1, kind="stable")
    seg_len = length[order]
    used_before = np.cumsum(seg_len, axis=1) - seg_len
    fill_sorted = np.clip(remaining - used_before, 0.0, seg_len)
    fill_sorted *= np.take_along_axis(density, order, axis=1) > 0
    fill = np.empty_like(fill_sorted)
    np.put_along_axis(fill, order, fill_sorted, axis=1)
    k = starts.size
    s = fill[:, :k].sum(axis=1) / (1 + r)
    targets = ((line.lead, lead, s), (line.follow, follow, r * s + delta))
    for members, (index, _), total in targets:
        out[rows[:, None], members[index]] = _greedy_amounts(total, cap, index.shape[1])
    index, values = free_top
    amount = _greedy_amounts(fill[:, k:].sum(axis=1), cap, index.shape[1]) * (values > 0)
    out[rows[:, None], free[index]] = amount


def _composite_segments(
    n_lead: int, n_follow: int, cap: float, r: float, delta: float, s_max: float
) -> tuple[np.ndarray, np.ndarray]:
    """Segments [start, end) of s on which the same lead and follow areas are being filled."""
    if cap <= 0 or s_max <= 0:
        return np.zeros(0), np.zeros(0)
    lead_breaks = cap * np.arange(1, n_lead + 1)
    follow_breaks = (cap * np.arange(1, n_follow + 1) - delta) / r
    breaks = np.unique(np.concatenate([lead_breaks, follow_breaks]))
    breaks = breaks[(breaks > 0) & (breaks < s_max)]
    edges = np.concatenate([[0.0], breaks, [s_max]])
    keep = np.diff(edges) > 0
    return edges[:-1][keep], edges[1:][keep]


def _ranks_needed(total: float, cap: float) -> int:
    """How many areas a greedy fill of ``total`` in pieces of ``cap`` can reach."""
    if cap <= 0 or total <= 0:
        return 0
    return int(np.ceil(total / cap))


def _top(values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k largest entries of each row, in decreasing order, ties by the lower column.

    Returns (indices, values), both (t, k). A few ``argmax`` passes when k is small
    (the usual case: the paper's LP needs k = 1), else one stable sort.
    """
    steps, n = values.shape
    k = min(k, n)
    if k > _ARGMAX_PASSES:
        index = np.argsort(-values, axis=1, kind="stable")[:, :k]
        return index, np.take_along_axis(values, index, axis=1)
    rows = np.arange(steps)
    index = np.empty((steps, k), dtype=np.intp)
    work = values.copy() if k > 1 else values
    for m in range(k):
        index[:, m] = work.argmax(axis=1)  # argmax returns the first maximum
        if m + 1 < k:
            work[rows, index[:, m]] = -np.inf
    return index, values[rows[:, None], index]


def _greedy_amounts(totals: np.ndarray, cap: float, k: int) -> np.ndarray:
    """(t, k) amounts for ranks 0..k−1 of a greedy fill: clip(total − rank·cap, 0, cap)."""
    return np.clip(np.asarray(totals, dtype=float)[:, None] - cap * np.arange(k), 0.0, cap)


def fill_greedy(
    values: np.ndarray, totals: np.ndarray, cap: float, *, positive_only: bool
) -> np.ndarray:
    """Distribute each row's total over its areas in decreasing value, each up to ``cap``.

    Ties are broken by the lower column index. With ``positive_only`` areas whose value
    is ≤ 0 receive nothing (so less than the total may be placed).

    Args:
        values: (t, n) values μ.
        totals: (t,) amounts to place (≤ n·cap; any excess is not placed).
        cap: per-area maximum (≥ 0).
        positive_only: skip areas with value ≤ 0.

    Returns:
        (t, n) amounts: the area of rank k (0-based) gets clip(total − k·cap, 0, cap).
    """
    steps, n = values.shape
    totals = np.asarray(totals, dtype=float)
    out = np.zeros((steps, n))
    k = min(n, _ranks_needed(float(totals.max(initial=0.0)), cap))
    if k == 0:
        return out
    index, top_values = _top(values, k)
    amount = _greedy_amounts(totals, cap, k)
    if positive_only:
        amount *= top_values > 0
    out[np.arange(steps)[:, None], index] = amount
    return out
