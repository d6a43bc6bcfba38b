"""``dnn``: the model-zoo study's best DNN (3 hidden layers × 128, ReLU, lr 10⁻³, MSE).

The network is :class:`fase.models.FeatureMLP`; trained on the squared error of its
mean as in the study, scored with a Poisson NLL around that mean.
"""

from __future__ import annotations

from torch import nn

from fase.config.training import TrainingConfig
from fase.forecasters.data import ForecastData
from fase.forecasters.neural import NeuralForecaster
from fase.forecasters.registry import ForecasterSettings, register
from fase.models.dnn import FeatureMLP

STUDY_LR = 1e-3
STUDY_HIDDEN = 128
STUDY_LAYERS = 3
QUICK_HIDDEN = 16


class DNNForecaster(NeuralForecaster):
    """An MLP on each (area, bin)'s features; no graph, no count history beyond the features."""

    name = "dnn"
    family = "neural"
    objective = "mse"

    def __init__(
        self,
        training: TrainingConfig,
        hidden: int = STUDY_HIDDEN,
        layers: int = STUDY_LAYERS,
        dropout: float = 0.1,
    ) -> None:
        super().__init__(training)
        self.hidden, self.layers, self.dropout = hidden, layers, dropout

    def build_module(self, data: ForecastData) -> nn.Module:
        return FeatureMLP(data.num_features, self.hidden, self.layers, self.dropout)

    def warmup(self, module: nn.Module) -> int:
        """0: each bin's forecast reads that bin's features only."""
        return 0


def study_training(settings: ForecasterSettings) -> TrainingConfig:
    """The comparison's training settings with the study's objective (MSE) and lr (10⁻³)."""
    return settings.training.model_copy(update={"objective": "mse", "lr": STUDY_LR})


@register("dnn")
def make_dnn(settings: ForecasterSettings) -> DNNForecaster:
    """The study's DNN; ``quick``: 16 hidden units per layer."""
    return DNNForecaster(
        study_training(settings), hidden=QUICK_HIDDEN if settings.quick else STUDY_HIDDEN
    )
