"""The study's classification target: crime risk levels 1–5 from counts.

Risk levels (:class:`RiskLevels`)
---------------------------------
A level is a bin of an area-bin's incident count y. Crime counts are mostly zero, so
plain quantiles of y would collapse (at 80 % zeros every quintile edge is 0). The rule:

* level 1 = no incident (y = 0);
* levels 2–5 = the quartile bins of the *positive* training counts.

It is written with four integer thresholds τ₁ < τ₂ < τ₃ < τ₄ and
``level(y) = 1 + #{k : y ≥ τₖ}``: τ₁ = 1 and τₖ₊₁ = ⌊qₖ⌋ + 1 with qₖ the k/4 quantile
(NumPy's default, linear interpolation) of the positive training counts, so level k + 2
starts just above the k-th quartile. Counts are integers and tie heavily (at hourly bins
most positive counts are 1), so quartiles coincide; a threshold not above the previous one
is raised to previous + 1. Each level is then a distinct count range, but a level
whose range holds no training count is empty: then fewer than five levels occur
(:meth:`RiskLevels.shares` tells how many cells fall in each). The thresholds are
fitted on the training split only and pooled over areas.

Predicted levels, two rules:

* :meth:`RiskLevels.from_expected`: the level of the nearest integer to the expected count,
  ⌊E[Y] + ½⌋ (a point forecast);
* :meth:`RiskLevels.from_distribution`: the most probable level under the predicted
  distribution, argmaxₖ P(τₖ₋₁ ≤ Y < τₖ) with τ₀ = 0, τ₅ = ∞, from its pmf (ties → lower
  level). The two can differ: under Poisson(0.6) the point forecast rounds to 1 (level
  2) while no incident is the most probable outcome (P(0) = 0.55, level 1).

Scores (:func:`level_scores`): Macro- and Micro-F1 from scikit-learn (installed with
fairlearn). Macro-F1 averages the per-level F1 over the levels that occur in the true or
the predicted levels; Micro-F1 of single-label classes equals accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.metrics import f1_score

from fase.errors import FaseInputError
from fase.models.distributions import CountDistribution, LevelCategorical

N_LEVELS = 5
LEVELS = np.arange(1, N_LEVELS + 1)


@dataclass(frozen=True)
class RiskLevels:
    """Risk levels 1–5 from counts by four integer thresholds (see the module docstring).

    Attributes:
        thresholds: (4,) int64, strictly increasing, τ₁ = 1; level(y) = 1 + #{k : y ≥ τₖ}.
    """

    thresholds: np.ndarray

    @classmethod
    def fit(cls, train_counts: np.ndarray) -> RiskLevels:
        """Fit the thresholds on training counts (any shape, e.g. (N, T_train)), ≥ 0."""
        counts = np.asarray(train_counts, dtype=np.float64).ravel()
        if counts.size == 0 or not np.all(np.isfinite(counts)) or np.any(counts < 0):
            raise FaseInputError("train_counts", "need non-empty, finite, non-negative counts")
        positive = counts[counts > 0]
        if positive.size == 0:
            raise FaseInputError(
                "train_counts", "no training bin has an incident: risk levels are undefined"
            )
        quartiles = np.quantile(positive, [0.25, 0.5, 0.75])
        thresholds = [1]
        for quartile in quartiles:
            thresholds.append(max(int(np.floor(quartile)) + 1, thresholds[-1] + 1))
        return cls(np.asarray(thresholds, dtype=np.int64))

    def transform(self, counts: np.ndarray) -> np.ndarray:
        """Levels 1–5 of counts, int64, ``counts``' shape: 1 + #{k : y ≥ τₖ}."""
        counts = np.asarray(counts, dtype=np.float64)
        return 1 + np.searchsorted(self.thresholds, counts, side="right").astype(np.int64)

    def from_expected(self, expected: np.ndarray) -> np.ndarray:
        """Predicted levels from expected counts: the level of ⌊E[Y] + ½⌋, int64."""
        return self.transform(np.floor(np.asarray(expected, dtype=np.float64) + 0.5))

    def probabilities(self, distribution: CountDistribution) -> np.ndarray:
        """P(level = k) for k = 1…5, shape (5, *batch) float64, from the pmf.

        P(level k) = F(τₖ − 1) − F(τₖ₋₁ − 1), with F the CDF, F(−1) = 0, F(τ₅ − 1) = 1;
        a risk-level classifier's (:class:`LevelCategorical`) softmax as it is.
        """
        if isinstance(distribution, LevelCategorical):
            levels = distribution.level_probabilities().detach().cpu().double().numpy()
            return np.moveaxis(levels, -1, 0)
        mean = distribution.mean.detach()
        support = torch.arange(int(self.thresholds[-1]), dtype=mean.dtype, device=mean.device)
        support = support.reshape(-1, *([1] * mean.ndim))
        pmf = distribution.log_prob(support).detach().exp().cpu().double().numpy()
        cdf = np.cumsum(pmf, axis=0)[self.thresholds - 1]  # F(τₖ − 1), k = 1…4
        edges = np.concatenate([np.zeros((1, *cdf.shape[1:])), cdf, np.ones((1, *cdf.shape[1:]))])
        return np.clip(np.diff(edges, axis=0), 0.0, 1.0)

    def from_distribution(self, distribution: CountDistribution) -> np.ndarray:
        """Predicted levels: the most probable level under ``distribution``, int64."""
        return 1 + np.argmax(self.probabilities(distribution), axis=0).astype(np.int64)

    def shares(self, counts: np.ndarray) -> np.ndarray:
        """(5,) share of cells of ``counts`` at each level (zeros mark empty levels)."""
        levels = self.transform(counts).ravel()
        return np.bincount(levels - 1, minlength=N_LEVELS) / max(levels.size, 1)


def _levels(name: str, values: np.ndarray) -> np.ndarray:
    array = np.asarray(values).ravel()
    if array.size == 0 or not np.isin(array, LEVELS).all():
        raise FaseInputError(name, f"levels must be integers 1–{N_LEVELS} (and not empty)")
    return array.astype(np.int64)


def level_scores(y_level: np.ndarray, pred_level: np.ndarray) -> dict[str, float]:
    """Macro- and Micro-F1 of predicted risk levels (see the module docstring).

    Args:
        y_level, pred_level: true and predicted levels 1–5, the same shape (any).
    Returns:
        ``{"macro_f1", "micro_f1"}`` in [0, 1].
    """
    truth, predicted = _levels("y_level", y_level), _levels("pred_level", pred_level)
    if truth.shape != predicted.shape:
        raise FaseInputError(
            "pred_level", f"has {predicted.size} levels but y_level has {truth.size}"
        )
    return {
        "macro_f1": float(f1_score(truth, predicted, average="macro", zero_division=0)),
        "micro_f1": float(f1_score(truth, predicted, average="micro", zero_division=0)),
    }
