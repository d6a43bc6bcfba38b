"""Method presets: how the pipeline treats a dataset.

Each field that differs between ``paper`` and ``default`` is one named option
whose both branches are implemented and tested; ``docs/deviations.md`` says why
the default differs.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from fase.config.allocation import AllocationConfig
from fase.config.compare import CompareConfig, FederatedConfig
from fase.config.dataset import DatasetConfig, Strict
from fase.config.durations import Duration
from fase.config.model import ModelConfig
from fase.config.simulation import SimulationConfig
from fase.config.training import TrainingConfig

MAX_SEED = 2**32 - 1


class DataMethod(Strict):
    """Phase 1: ingestion, areas, demographics, tensors."""

    bin: Duration = "1h"  # bin width: "1h", "8h" or "1D" (coarsened to the data's precision)
    split: tuple[float, float, float] = (0.70, 0.15, 0.15)  # chronological train/val/test
    calendar: Literal["config", "observed"] = "config"  # observed: first..last incident bin (paper)
    duplicates: Literal["keep", "drop"] = "keep"
    nodes: Literal["all_areas", "incident_bearing"] = "all_areas"
    join_predicate: Literal["covered_by", "within"] = (
        "covered_by"  # within: boundary points dropped (paper)
    )
    overlaps: Literal["lowest", "every"] = (
        "lowest"  # a point in overlapping areas counts once; every: in each of them (paper)
    )
    nearest_fallback: bool = True  # use the dataset's nearest_max_m radius
    minority_definition: Literal["black_share", "one_minus_white"] = "black_share"
    minority_threshold: float = 0.5  # minority iff share >= threshold
    missing_demographics: Literal["exclude", "zero_fill"] = "exclude"
    income_scope: Literal["nodes", "table"] = (
        "nodes"  # min-max over study nodes, or whole table (paper)
    )
    rolling_head: Literal["available", "pandas_fill"] = "available"
    lags: int = Field(3, ge=1)
    rolling_windows: tuple[Duration, Duration] = ("24h", "7d")
    scaling: Literal["standard", "none"] = "standard"  # statistics fitted on the training part only
    crime_type_channels: bool = False  # per-type count channels and targets (model zoo)

    @model_validator(mode="after")
    def _split_sums_to_one(self) -> DataMethod:
        if any(part <= 0 for part in self.split) or abs(sum(self.split) - 1.0) > 1e-9:
            raise ValueError("split must be three positive fractions summing to 1")
        if not 0.0 < self.minority_threshold <= 1.0:
            raise ValueError("minority_threshold must lie in (0, 1]")
        return self


class GraphMethod(Strict):
    """Phase 2: hybrid adjacency A = α_geo·A_geo_norm + α_feat·A_feat + I."""

    # queen: shared vertex (paper); fuzzy: polygons within fuzzy_tolerance_m; auto: fuzzy with the
    # dataset's areas.fuzzy_tolerance_m where it declares one (coarse polygons), else queen
    contiguity: Literal["queen", "fuzzy", "auto"] = "auto"
    fuzzy_tolerance_m: float = 0.0
    island_k: int = Field(5, ge=1)  # islands are joined to their k nearest neighbours
    theta: float = 0.5  # cosine threshold, inclusive
    alpha_geo: float = 0.6
    alpha_feat: float = 0.4
    self_loops: bool = True
    standardize_features: bool = True  # z-score demographics before cosine (paper: raw)
    normalize: Literal["row", "none"] = "row"  # final normalisation of A_combined (paper: none)


def resolve_contiguity(graph: GraphMethod, dataset: DatasetConfig) -> GraphMethod:
    """Replace ``contiguity: auto`` by the rule the dataset's polygons need."""
    if graph.contiguity != "auto":
        return graph
    tolerance = dataset.areas.fuzzy_tolerance_m
    rule = "fuzzy" if tolerance > 0 else "queen"
    return graph.model_copy(update={"contiguity": rule, "fuzzy_tolerance_m": tolerance})


class RunConfig(Strict):
    """Everything a run needs: the dataset, the method of every phase and the seed.

    ``forecaster`` is the registered model the run trains, evaluates, allocates on,
    retrains in the feedback simulation and serves (``fase compare --list``); ``model``
    configures FASE.
    """

    preset: str = "default"
    seed: int = Field(42, ge=0, le=MAX_SEED)  # every RNG (numpy, torch) takes 0..2**32 − 1
    forecaster: str = "fase"
    dataset: DatasetConfig
    data: DataMethod = DataMethod()
    graph: GraphMethod = GraphMethod()
    model: ModelConfig = ModelConfig()
    training: TrainingConfig = TrainingConfig()
    allocation: AllocationConfig = AllocationConfig()
    simulation: SimulationConfig = SimulationConfig()
    compare: CompareConfig = CompareConfig()
    federated: FederatedConfig = FederatedConfig()
