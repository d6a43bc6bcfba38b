"""Federated training with Flower (simulation mode): each client is a district — a
contiguous group of areas — that keeps its incidents; only model weights travel.

:func:`partition_areas` makes the districts, :func:`federate` runs FedAvg or FedProx
over them with Flower's simulation runtime and compares the global model with the same
model trained centrally on the same data and budget (``fase federated``;
docs/federated.md). Flower's telemetry and Ray's usage statistics are off unless the
user set them (before Flower is imported); :mod:`fase.federated.flower` imports Flower.
"""

import os

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")  # read when flwr is first imported
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")  # silences a FutureWarning

from fase.federated.experiment import federate
from fase.federated.partition import client_areas, client_data, partition_areas
from fase.federated.report import FederatedResult

__all__ = [
    "FederatedResult",
    "client_areas",
    "client_data",
    "federate",
    "partition_areas",
]
