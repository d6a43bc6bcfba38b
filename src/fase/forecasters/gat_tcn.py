"""The model-zoo study's hybrid ŷ = f_TCN(f_GAT(X)) — graph attention over the contiguity
graph, then a dilated causal TCN per area — in three variants:

* ``gat_tcn``: the study's, trained on the squared error of its expected count (scored
  with a Poisson NLL around it);
* ``gat_tcn_nb``: a negative-binomial head trained on its likelihood;
* ``gat_tcn_levels``: a risk-level classifier trained with cross-entropy.

The network is :class:`fase.models.GATTCN` on A_geo + self-loops; forecasts are exact
with a warm-up of R − 1 = 15 bins (the TCN's receptive field R = 16).
"""

from __future__ import annotations

from typing import ClassVar

from torch import nn

from fase.config.training import TrainingConfig
from fase.forecasters.data import ForecastData
from fase.forecasters.dnn import study_training
from fase.forecasters.neural import NeuralForecaster, Target
from fase.forecasters.registry import ForecasterSettings, register
from fase.models.gat_tcn import GATTCN, attention_edges

CHANNELS = 64
HEADS = 4
QUICK_CHANNELS = 16
QUICK_HEADS = 2


class GATTCNForecaster(NeuralForecaster):
    """Graph attention over neighbouring areas, then a TCN over time (the study's order)."""

    name: ClassVar[str] = "gat_tcn"
    family = "graph"
    objective = "mse"
    distribution: ClassVar[str] = "poisson"

    def __init__(
        self,
        training: TrainingConfig,
        channels: int = CHANNELS,
        heads: int = HEADS,
        target: Target = "total",
    ) -> None:
        super().__init__(training, target)
        self.channels, self.heads = channels, heads

    def build_module(self, data: ForecastData) -> nn.Module:
        edges = attention_edges(data.graph.A_geo)
        head = self.head(data)
        return GATTCN(
            data.num_features,
            edges,
            data.num_nodes,
            self.channels,
            self.heads,
            distribution="levels" if self.target == "levels" else self.distribution,
            **head,
        )

    def warmup(self, module: nn.Module) -> int:
        """R − 1: the bins before a forecast bin that its TCN state reads."""
        return module.receptive_field - 1


class GATTCNNegativeBinomial(GATTCNForecaster):
    name: ClassVar[str] = "gat_tcn_nb"
    objective = "nll"
    distribution: ClassVar[str] = "nb"


class GATTCNLevels(GATTCNForecaster):
    name: ClassVar[str] = "gat_tcn_levels"
    objective = "nll"


def _make(
    cls: type[GATTCNForecaster], settings: ForecasterSettings, target: Target
) -> GATTCNForecaster:
    tuned = settings.tuned(cls.name)
    channels = int(tuned.get("channels", QUICK_CHANNELS if settings.quick else CHANNELS))
    heads = QUICK_HEADS if settings.quick else HEADS
    training = study_training(settings, cls.name, cls.objective)
    return cls(training, channels, heads, target)


@register("gat_tcn")
def make_gat_tcn(settings: ForecasterSettings) -> GATTCNForecaster:
    """The study's hybrid trained on MSE; ``quick``: 16 channels, 2 heads."""
    return _make(GATTCNForecaster, settings, "total")


@register("gat_tcn_nb")
def make_gat_tcn_nb(settings: ForecasterSettings) -> GATTCNForecaster:
    """The hybrid with a negative-binomial head trained on its likelihood."""
    return _make(GATTCNNegativeBinomial, settings, "total")


@register("gat_tcn_levels", deployable=False)
def make_gat_tcn_levels(settings: ForecasterSettings) -> GATTCNForecaster:
    """The hybrid as a risk-level classifier."""
    return _make(GATTCNLevels, settings, "levels")
