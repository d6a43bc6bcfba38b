"""Typed configuration: a *dataset* (where the data is and what it means) and a
*method preset* (how the pipeline treats it), loaded from YAML and validated.

    cfg = load_config(dataset="chicago", preset="default")
    cfg = load_config(config_path="my_city.yaml")   # may name a dataset and preset

Presets are data (``fase/presets/*.yaml``); datasets are data
(``fase/datasets/*.yaml``). ``paper`` reproduces the published FASE pipeline,
``default`` holds the corrected choices listed in ``docs/deviations.md``.
"""

from fase.config.compare import CompareConfig, FederatedConfig, TrainingBudget, TuningConfig
from fase.config.dataset import (
    AreaSource,
    BBox,
    Calendar,
    ColumnMap,
    DataFile,
    DatasetConfig,
    DemographicsSource,
    IncidentSource,
    Territory,
)
from fase.config.durations import bins_per, parse_duration
from fase.config.loader import available_datasets, available_presets, load_config
from fase.config.method import DataMethod, GraphMethod, RunConfig

__all__ = [
    "AreaSource",
    "BBox",
    "Calendar",
    "ColumnMap",
    "CompareConfig",
    "DataFile",
    "DataMethod",
    "DatasetConfig",
    "DemographicsSource",
    "FederatedConfig",
    "GraphMethod",
    "IncidentSource",
    "RunConfig",
    "Territory",
    "TrainingBudget",
    "TuningConfig",
    "available_datasets",
    "available_presets",
    "bins_per",
    "load_config",
    "parse_duration",
]
