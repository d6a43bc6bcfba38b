"""Forecasting networks: count distributions, layers, the STGNN encoder and the FASE
predictor, and the model-zoo study's networks (Cruz, "Crime Prediction Using Deep
Learning Models": an MLP on the features, the LSTM "CrimeNet" and a graph-attention + TCN
hybrid). Every network is a :class:`CountNetwork`, trained by the one training engine;
the fit/predict adapters around them are in :mod:`fase.forecasters`."""

from fase.config.model import ModelConfig
from fase.models.crimenet import CrimeNetLSTM, crimenet_history_steps
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
from fase.models.dnn import FeatureMLP
from fase.models.fase import FASEModel, forecast_warmup
from fase.models.gat_tcn import GATTCN, attention_edges, disjoint_union
from fase.models.protocol import CountNetwork
from fase.models.stgnn import STGNN

__all__ = [
    "DISTRIBUTIONS",
    "GATTCN",
    "STGNN",
    "CountDistribution",
    "CountNetwork",
    "CrimeNetLSTM",
    "FASEModel",
    "FeatureMLP",
    "ModelConfig",
    "NegativeBinomial",
    "Poisson",
    "ZeroInflatedNegativeBinomial",
    "attention_edges",
    "count_distribution",
    "crimenet_history_steps",
    "disjoint_union",
    "forecast_warmup",
    "nb_log_prob",
    "poisson_log_prob",
    "zinb_log_prob",
    "zinb_nll",
]
