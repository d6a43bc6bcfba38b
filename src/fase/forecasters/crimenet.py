"""``crimenet``: the model-zoo study's LSTM "CrimeNet" (128 hidden units, lr 10⁻³, MSE,
four weeks of past counts), and ``crimenet_levels``, the same network classifying the
risk level (cross-entropy); ``crimenet_study``, CrimeNet on the study's own
incident-level input representation.

The network is :class:`fase.models.CrimeNetLSTM`; the count model is trained on the
squared error of its mean as in the study and scored with a Poisson NLL around that
mean. Forecasts start the LSTM W bins (the training window) before each span: an
approximation of its unbounded memory, documented in the module.
"""

from __future__ import annotations

from torch import nn

from fase.config.training import TrainingConfig
from fase.forecasters.data import ForecastData
from fase.forecasters.dnn import QUICK_HIDDEN, study_training
from fase.forecasters.neural import NeuralForecaster, Target
from fase.forecasters.registry import ForecasterSettings, register
from fase.models.crimenet import CrimeNetLSTM, crimenet_history_steps

STUDY_HIDDEN = 128


class CrimeNetForecaster(NeuralForecaster):
    """An LSTM over each area's past counts and features; no graph."""

    name = "crimenet"
    family = "neural"
    objective = "mse"

    def __init__(
        self, training: TrainingConfig, hidden: int = STUDY_HIDDEN, target: Target = "total"
    ) -> None:
        super().__init__(training, target)
        self.hidden = hidden

    def build_module(self, data: ForecastData) -> nn.Module:
        history = crimenet_history_steps(data.bins_per_day)
        return CrimeNetLSTM(data.num_features, history, self.hidden, **self.head(data))

    def warmup(self, module: nn.Module) -> int:
        """W, the training window: the LSTM restarts W + P bins before each forecast chunk."""
        return self.training.window


class CrimeNetStudyInputs(CrimeNetForecaster):
    """CrimeNet on the study's incident-level representation instead of the area features."""

    name = "crimenet_study"
    inputs = "study"


class CrimeNetLevels(CrimeNetForecaster):
    """CrimeNet with a five-level output trained with cross-entropy."""

    name = "crimenet_levels"
    objective = "nll"


def _hidden(settings: ForecasterSettings, name: str) -> int:
    default = QUICK_HIDDEN if settings.quick else STUDY_HIDDEN
    return int(settings.tuned(name).get("hidden", default))


@register("crimenet")
def make_crimenet(settings: ForecasterSettings) -> CrimeNetForecaster:
    """The study's CrimeNet; ``quick``: 16 hidden units."""
    return CrimeNetForecaster(study_training(settings, "crimenet"), _hidden(settings, "crimenet"))


@register("crimenet_levels", deployable=False)
def make_crimenet_levels(settings: ForecasterSettings) -> CrimeNetLevels:
    """CrimeNet as a risk-level classifier."""
    return CrimeNetLevels(
        study_training(settings, "crimenet_levels", "nll"),
        _hidden(settings, "crimenet_levels"),
        target="levels",
    )


@register("crimenet_study", deployable=False)
def make_crimenet_study(settings: ForecasterSettings) -> CrimeNetStudyInputs:
    """CrimeNet on the study's inputs (data sets with incident-level fields)."""
    return CrimeNetStudyInputs(
        study_training(settings, "crimenet_study"), _hidden(settings, "crimenet_study")
    )
