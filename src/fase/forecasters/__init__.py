"""Every model behind one forecaster interface (:class:`Forecaster`): the baselines, the
model-zoo study's networks, the Hawkes MLE and FASE with its ablations. Each can be
fitted and evaluated on a city's data, used for allocation, retrained inside the
feedback simulator and served; :class:`TrainedRun` loads the one a run directory holds.
"""

from fase.forecasters.base import (
    FitReport,
    Forecaster,
    ForecastRequest,
    TrainingRequest,
    score_distribution,
)
from fase.forecasters.data import ForecastData
from fase.forecasters.neural import NeuralForecaster, retrain_together
from fase.forecasters.registry import (
    ForecasterSettings,
    available_models,
    compared_models,
    create,
    deployable_models,
    register,
    require_models,
)
from fase.forecasters.trained import TrainedRun, forecaster_settings, save_forecaster

__all__ = [
    "FitReport",
    "ForecastData",
    "ForecastRequest",
    "Forecaster",
    "ForecasterSettings",
    "NeuralForecaster",
    "TrainedRun",
    "TrainingRequest",
    "available_models",
    "compared_models",
    "create",
    "deployable_models",
    "forecaster_settings",
    "register",
    "require_models",
    "retrain_together",
    "save_forecaster",
    "score_distribution",
]
