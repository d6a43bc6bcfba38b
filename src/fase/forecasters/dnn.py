"""``dnn``: the model-zoo study's best DNN (3 hidden layers × 128, ReLU, lr 10⁻³, MSE);
``dnn_levels``, the same network classifying the risk level (cross-entropy); ``dnn_study``,
the same network on the study's own incident-level input representation.

The network is :class:`fase.models.FeatureMLP`; the count model is trained on the squared
error of its mean as in the study and scored with a Poisson NLL around that mean.
"""

from __future__ import annotations

from torch import nn

from fase.config.training import TrainingConfig
from fase.forecasters.data import ForecastData
from fase.forecasters.neural import NeuralForecaster, Target
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
        target: Target = "total",
    ) -> None:
        super().__init__(training, target)
        self.hidden, self.layers, self.dropout = hidden, layers, dropout

    def build_module(self, data: ForecastData) -> nn.Module:
        return FeatureMLP(
            data.num_features, self.hidden, self.layers, self.dropout, **self.head(data)
        )

    def warmup(self, module: nn.Module) -> int:
        """0: each bin's forecast reads that bin's features only."""
        return 0


class DNNStudyInputs(DNNForecaster):
    """The DNN on the study's incident-level representation instead of the area features."""

    name = "dnn_study"
    inputs = "study"


class DNNLevels(DNNForecaster):
    """The DNN with a five-level output trained with cross-entropy."""

    name = "dnn_levels"
    objective = "nll"


def study_training(
    settings: ForecasterSettings, name: str, objective: str = "mse"
) -> TrainingConfig:
    """The comparison's training settings with the study's lr (10⁻³, or the tuned one)
    and ``objective`` (the study's MSE; ``nll`` for likelihood or cross-entropy heads)."""
    lr = settings.tuned(name).get("lr", STUDY_LR)
    return settings.training.model_copy(update={"objective": objective, "lr": lr})


def _dnn_sizes(settings: ForecasterSettings, name: str) -> dict[str, int]:
    tuned = settings.tuned(name)
    hidden = QUICK_HIDDEN if settings.quick else STUDY_HIDDEN
    return {
        "hidden": int(tuned.get("hidden", hidden)),
        "layers": int(tuned.get("layers", STUDY_LAYERS)),
    }


@register("dnn")
def make_dnn(settings: ForecasterSettings) -> DNNForecaster:
    """The study's DNN; ``quick``: 16 hidden units per layer."""
    return DNNForecaster(study_training(settings, "dnn"), **_dnn_sizes(settings, "dnn"))


@register("dnn_levels", deployable=False)
def make_dnn_levels(settings: ForecasterSettings) -> DNNLevels:
    """The study's DNN as a risk-level classifier."""
    return DNNLevels(
        study_training(settings, "dnn_levels", "nll"),
        **_dnn_sizes(settings, "dnn_levels"),
        target="levels",
    )


@register("dnn_study", deployable=False)
def make_dnn_study(settings: ForecasterSettings) -> DNNStudyInputs:
    """The study's DNN on the study's inputs (data sets with incident-level fields)."""
    return DNNStudyInputs(
        study_training(settings, "dnn_study"), **_dnn_sizes(settings, "dnn_study")
    )
