"""The model zoo: baselines, the model-zoo study's networks and FASE ablations behind one
forecaster interface (:class:`Forecaster`: fit / predict / evaluate), and the honest
comparison that ranks them on the same data, split and metrics (``fase compare``)."""

from fase.zoo.base import FitReport, Forecaster, score_distribution
from fase.zoo.data import ForecastData
from fase.zoo.neural import NeuralForecaster
from fase.zoo.registry import ZooSettings, available_models, create, register

__all__ = [
    "FitReport",
    "ForecastData",
    "Forecaster",
    "NeuralForecaster",
    "ZooSettings",
    "available_models",
    "create",
    "register",
    "score_distribution",
]
