"""``crimenet``: the model-zoo study's LSTM "CrimeNet" (128 hidden units, lr 10⁻³, MSE).

The network is :class:`fase.models.CrimeNetLSTM`; trained on the squared error of its
mean as in the study, scored with a Poisson NLL around that mean. Forecasts start the
LSTM W bins (the training window) before each span: an approximation of its unbounded
memory, documented in the module.
"""

from __future__ import annotations

from torch import nn

from fase.config.training import TrainingConfig
from fase.forecasters.data import ForecastData
from fase.forecasters.dnn import QUICK_HIDDEN, study_training
from fase.forecasters.neural import NeuralForecaster
from fase.forecasters.registry import ForecasterSettings, register
from fase.models.crimenet import CrimeNetLSTM, crimenet_history_steps

STUDY_HIDDEN = 128


class CrimeNetForecaster(NeuralForecaster):
    """An LSTM over each area's past counts and features; no graph."""

    name = "crimenet"
    family = "neural"
    objective = "mse"

    def __init__(self, training: TrainingConfig, hidden: int = STUDY_HIDDEN) -> None:
        super().__init__(training)
        self.hidden = hidden

    def build_module(self, data: ForecastData) -> nn.Module:
        history = crimenet_history_steps(data.bins_per_day)
        return CrimeNetLSTM(data.num_features, history, self.hidden)

    def warmup(self, module: nn.Module) -> int:
        """W, the training window: the LSTM restarts W + P bins before each forecast chunk."""
        return self.training.window


@register("crimenet")
def make_crimenet(settings: ForecasterSettings) -> CrimeNetForecaster:
    """The study's CrimeNet; ``quick``: 16 hidden units."""
    return CrimeNetForecaster(
        study_training(settings), hidden=QUICK_HIDDEN if settings.quick else STUDY_HIDDEN
    )
