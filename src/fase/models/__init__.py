"""Forecasting models: count distributions, layers, the STGNN encoder and the FASE predictor."""

from fase.config.model import ModelConfig
from fase.models.distributions import (
    DISTRIBUTIONS,
    CountDistribution,
    NegativeBinomial,
    Poisson,
    ZeroInflatedNegativeBinomial,
    count_distribution,
    nb_log_prob,
    poisson_log_prob,
    zinb_log_prob,
    zinb_nll,
)
from fase.models.fase import FASEModel
from fase.models.stgnn import STGNN

__all__ = [
    "DISTRIBUTIONS",
    "STGNN",
    "CountDistribution",
    "FASEModel",
    "ModelConfig",
    "NegativeBinomial",
    "Poisson",
    "ZeroInflatedNegativeBinomial",
    "count_distribution",
    "nb_log_prob",
    "poisson_log_prob",
    "zinb_log_prob",
    "zinb_nll",
]
