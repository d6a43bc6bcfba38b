"""Every score of a fitted forecaster on the test split, as ``fase compare`` ranks them.

* counts — mean NLL per area-bin (nats; a Poisson NLL around the prediction for models
  trained with MSE), MAE and RMSE of E[Y], PAI at 10 % of the areas
  (:func:`~fase.forecasters.base.score_distribution`); NaN for a risk-level classifier,
  which forecasts no count;
* risk levels 1–5 (:class:`~fase.evaluation.levels.RiskLevels`, fitted on the training
  counts) — the level probabilities of every model come from its predictive law
  (a count model's pmf summed over each level's counts, a classifier's softmax):
  ``level_nll``, the mean −log P(level of the observed count), comparable between
  count models and classifiers; Macro- and Micro-F1 of the most probable level; the
  5 × 5 confusion matrix (rows: true level, columns: predicted);
* fairness by demographic group (``unknown`` areas left out) — demographic parity
  difference and equalized odds difference of the high-risk flag (level ≥ 4), and the
  MAE ratio minority / majority (error parity);
* per crime type (a model forecasting the types: its law of the total is a
  :class:`~fase.models.distributions.SumOfIndependent`) — MAE, RMSE and NLL of each
  type's own forecast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.metrics import confusion_matrix

from fase.evaluation.counts import count_metrics
from fase.evaluation.fairness import error_parity, risk_fairness
from fase.evaluation.levels import LEVELS, RiskLevels, level_scores
from fase.forecasters.base import Forecaster, score_distribution
from fase.forecasters.data import ForecastData
from fase.models.distributions import CountDistribution, LevelCategorical, SumOfIndependent

COUNT_METRICS = ("nll", "mae", "rmse", "pai_10")


@dataclass(frozen=True)
class ModelScores:
    """A fitted model's test-split scores.

    Attributes:
        scores: metric → value (the leaderboard's columns).
        per_type: crime type → {"mae", "rmse", "nll"} (empty unless the model forecasts types).
        confusion: (5, 5) int64 cells by (true level, predicted level).
    """

    scores: dict[str, float]
    per_type: dict[str, dict[str, float]]
    confusion: np.ndarray


def training_levels(data: ForecastData) -> RiskLevels:
    """Risk levels fitted on ``data``'s training counts (all areas)."""
    start, end = data.bounds("train")
    return RiskLevels.fit(data.y[:, start:end])


def per_type_scores(
    components: CountDistribution, y_types: np.ndarray, type_names: list[str]
) -> dict[str, dict[str, float]]:
    """MAE, RMSE and NLL of each type's forecast: ``components`` (T, N, K), ``y_types``
    (T, N, K) observed counts."""
    truth = np.asarray(y_types, dtype=np.float64)
    expected = components.mean.detach().cpu().double().numpy()
    log_prob = components.log_prob(torch.as_tensor(truth)).detach().cpu().double().numpy()
    return {
        name: {
            key: float(value)
            for key, value in count_metrics(
                truth[..., k], expected[..., k], log_prob[..., k]
            ).items()
            if key in ("mae", "rmse", "nll")
        }
        for k, name in enumerate(type_names)
    }


def score_model(model: Forecaster, data: ForecastData, levels: RiskLevels) -> ModelScores:
    """Test-split scores of a fitted model (module docstring)."""
    start, end = data.bounds("test")
    distribution = model.predict(data, start, end)
    y_true = data.y[:, start:end].T
    classifier = isinstance(distribution, LevelCategorical)
    if classifier:
        scores = {metric: float("nan") for metric in COUNT_METRICS}
    else:
        scores = score_distribution(distribution, data, start, end)
    probabilities = levels.probabilities(distribution)  # (5, T, N)
    true_level = levels.transform(y_true)
    predicted = 1 + np.argmax(probabilities, axis=0).astype(np.int64)
    chosen = np.take_along_axis(probabilities, (true_level - 1)[None], axis=0)[0]
    scores["level_nll"] = float(-np.log(np.clip(chosen, 1e-300, None)).mean())
    scores |= level_scores(true_level, predicted)
    fairness = risk_fairness(true_level, predicted, data.groups)
    scores |= {
        "dp_difference": fairness["demographic_parity_difference"],
        "eo_difference": fairness["equalized_odds_difference"],
        "mae_ratio": float("nan")
        if classifier
        else error_parity(y_true, distribution.mean.detach().cpu().double().numpy(), data.groups)[
            "mae_ratio"
        ],
    }
    per_type: dict[str, dict[str, float]] = {}
    if isinstance(distribution, SumOfIndependent) and data.y_types is not None:
        per_type = per_type_scores(
            distribution.components, data.y_types[:, start:end].transpose(1, 0, 2), data.type_names
        )
    confusion = confusion_matrix(true_level.ravel(), predicted.ravel(), labels=LEVELS)
    return ModelScores(scores, per_type, confusion.astype(np.int64))
