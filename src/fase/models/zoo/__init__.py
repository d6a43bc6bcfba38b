"""The model-zoo study's networks (Cruz, "Crime Prediction Using Deep Learning Models"):
an MLP on the features, an LSTM over past counts and a TCN + graph-attention hybrid, each
a :class:`~fase.training.CountForecaster` trained by the one training engine."""

from fase.models.zoo.crimenet import CrimeNetLSTM, crimenet_history_steps
from fase.models.zoo.dnn import FeatureMLP
from fase.models.zoo.gat_tcn import GATTCN, attention_edges, disjoint_union

__all__ = [
    "GATTCN",
    "CrimeNetLSTM",
    "FeatureMLP",
    "attention_edges",
    "crimenet_history_steps",
    "disjoint_union",
]
