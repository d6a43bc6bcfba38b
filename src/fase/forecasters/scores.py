"""Every score of a fitted forecaster on the test split, as ``fase compare`` ranks them.

* counts — mean NLL per area-bin (nats; a Poisson NLL around the prediction for models
  trained with MSE), MAE and RMSE of E[Y], PAI at 10 % of the areas
  (:func:`~fase.forecasters.base.score_distribution`);
* risk levels 1–5 (:class:`~fase.evaluation.levels.RiskLevels`, fitted on the training
  counts) — Macro- and Micro-F1 of the most probable level under the forecast;
* fairness by demographic group (``unknown`` areas left out) — demographic parity
  difference and equalized odds difference of the high-risk flag (level ≥ 4), and the
  MAE ratio minority / majority (error parity);
* per crime category (when the data have type channels) — MAE of E[Y]·s_vk, the total
  forecast split by each area's training shares s_vk of the categories.
"""

from __future__ import annotations

import numpy as np

from fase.evaluation.fairness import error_parity, risk_fairness
from fase.evaluation.levels import RiskLevels, level_scores, per_type_mae
from fase.forecasters.base import Forecaster, score_distribution
from fase.forecasters.data import ForecastData


def training_levels(data: ForecastData) -> RiskLevels:
    """Risk levels fitted on ``data``'s training counts (all areas)."""
    start, end = data.bounds("train")
    return RiskLevels.fit(data.y[:, start:end])


def type_shares(data: ForecastData) -> np.ndarray | None:
    """(N, K) each area's share of its training incidents per category (the city-wide
    shares for an area without training incidents); None without type channels."""
    if data.y_types is None:
        return None
    start, end = data.bounds("train")
    counts = data.y_types[:, start:end].sum(axis=1).astype(np.float64)
    city = counts.sum(axis=0) / max(counts.sum(), 1.0)
    totals = counts.sum(axis=1, keepdims=True)
    return np.where(totals > 0, counts / np.where(totals > 0, totals, 1.0), city)


def score_model(
    model: Forecaster, data: ForecastData, levels: RiskLevels, shares: np.ndarray | None
) -> tuple[dict[str, float], dict[str, float]]:
    """Test-split scores of a fitted model (module docstring) and its per-type MAE."""
    start, end = data.bounds("test")
    distribution = model.predict(data, start, end)
    scores = score_distribution(distribution, data, start, end)
    y_true = data.y[:, start:end].T
    expected = distribution.mean.detach().cpu().double().numpy()
    scores |= level_scores(levels.transform(y_true), levels.from_distribution(distribution))
    fairness = risk_fairness(
        levels.transform(y_true), levels.from_distribution(distribution), data.groups
    )
    parity = error_parity(y_true, expected, data.groups)
    scores |= {
        "dp_difference": fairness["demographic_parity_difference"],
        "eo_difference": fairness["equalized_odds_difference"],
        "mae_ratio": parity["mae_ratio"],
    }
    per_type: dict[str, float] = {}
    if shares is not None and data.y_types is not None:
        per_type = per_type_mae(
            data.y_types[:, start:end].transpose(1, 0, 2),
            expected[:, :, None] * shares[None, :, :],
            data.type_names,
        )
    return scores, per_type
