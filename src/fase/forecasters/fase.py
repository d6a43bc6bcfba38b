"""FASE and its ablations as forecasters.

* ``fase``: FASE as the run's configuration says (the ``model`` and ``training``
  sections); what ``fase run``, ``fase train``, ``fase simulate`` and ``fase serve`` use
  by default (``model.placement`` splits it across two devices).
* ``fase_default`` (the corrected model) and ``fase_paper`` (the published model: no
  self-excitation, Hawkes history restarting at every window, the reference likelihood
  clamps), with the model settings of those presets; ``stgnn`` is ``fase_default``
  without the Hawkes branch. They are the comparison's ablations: training is the
  comparison's shared :class:`~fase.config.training.TrainingConfig`, so every neural
  model gets the same windows, budget and early stopping.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import yaml
from torch import nn

from fase.config.loader import PRESET_DIR
from fase.config.model import ModelConfig
from fase.config.training import TrainingConfig
from fase.forecasters.base import Family
from fase.forecasters.data import ForecastData
from fase.forecasters.neural import NeuralForecaster
from fase.forecasters.registry import ForecasterSettings, register
from fase.models.fase import FASEModel, forecast_warmup
from fase.models.split import split_by_placement

# The quick (smoke) sizes: the `quick` preset's model.
QUICK_MODEL = {"channels": 16, "embedding_dim": 8, "head_hidden": 8}


def preset_model(preset: str, **changes: object) -> ModelConfig:
    """The ``model`` section of a method preset (``default`` or ``paper``), with changes."""
    section = yaml.safe_load((PRESET_DIR / f"{preset}.yaml").read_text(encoding="utf-8"))
    return ModelConfig.model_validate({**section.get("model", {}), **changes})


class FASEForecaster(NeuralForecaster):
    """FASE (:class:`~fase.models.fase.FASEModel`) with a given model configuration, on
    the data's hybrid graph (A_combined for diffusion, A_geo for the Hawkes mask)."""

    name: ClassVar[str] = "fase"
    family: ClassVar[Family] = "fase"

    def __init__(self, model: ModelConfig, training: TrainingConfig) -> None:
        super().__init__(training)
        self.model_config = model

    def build_module(self, data: ForecastData) -> nn.Module:
        return FASEModel.from_graph(
            torch.as_tensor(data.graph.A_combined, dtype=torch.float32),
            torch.as_tensor(data.graph.A_geo, dtype=torch.float32),
            self.model_config,
            num_features=data.num_features,
            hawkes_window_bins=self.model_config.hawkes_window_bins(data.bin_width),
            outputs=self.head(data)["outputs"],
        )

    def warmup(self, module: nn.Module) -> int:
        assert isinstance(module, FASEModel)
        return forecast_warmup(module)

    def place(self, module: nn.Module) -> nn.Module:
        """FASE split across the devices of ``model.placement`` (itself without one)."""
        assert isinstance(module, FASEModel)
        return split_by_placement(module, self.model_config.placement)


class FASEDefault(FASEForecaster):
    name: ClassVar[str] = "fase_default"


class FASEPaper(FASEForecaster):
    name: ClassVar[str] = "fase_paper"


class STGNNOnly(FASEForecaster):
    name: ClassVar[str] = "stgnn"
    family: ClassVar[Family] = "graph"


def _sizes(settings: ForecasterSettings) -> dict[str, object]:
    return dict(QUICK_MODEL) if settings.quick else {}


@register("fase", compared=False)
def _fase(settings: ForecasterSettings) -> FASEForecaster:
    return FASEForecaster(settings.model, settings.training)


@register("stgnn")
def _stgnn(settings: ForecasterSettings) -> STGNNOnly:
    return STGNNOnly(preset_model("default", hawkes=False, **_sizes(settings)), settings.training)


@register("fase_paper")
def _fase_paper(settings: ForecasterSettings) -> FASEPaper:
    return FASEPaper(preset_model("paper", **_sizes(settings)), settings.training)


@register("fase_default")
def _fase_default(settings: ForecasterSettings) -> FASEDefault:
    return FASEDefault(preset_model("default", **_sizes(settings)), settings.training)


__all__ = ["FASEDefault", "FASEForecaster", "FASEPaper", "STGNNOnly", "preset_model"]
