"""``gat_tcn``: the model-zoo study's hybrid — dilated causal TCN per area, GATConv over the
contiguity graph — with a negative-binomial head trained on its NLL.

The network is :class:`fase.models.GATTCN` on A_geo + self-loops; forecasts are exact
with a warm-up of R − 1 = 15 bins (the TCN's receptive field R = 16).
"""

from __future__ import annotations

from torch import nn

from fase.config.training import TrainingConfig
from fase.forecasters.data import ForecastData
from fase.forecasters.neural import NeuralForecaster
from fase.forecasters.registry import ForecasterSettings, register
from fase.models.gat_tcn import GATTCN, attention_edges

CHANNELS = 64
HEADS = 4
QUICK_CHANNELS = 16
QUICK_HEADS = 2


class GATTCNForecaster(NeuralForecaster):
    """TCN over time, graph attention over neighbouring areas, NB(μ, θ) forecast."""

    name = "gat_tcn"
    family = "graph"
    objective = "nll"

    def __init__(
        self, training: TrainingConfig, channels: int = CHANNELS, heads: int = HEADS
    ) -> None:
        super().__init__(training)
        self.channels, self.heads = channels, heads

    def build_module(self, data: ForecastData) -> nn.Module:
        edges = attention_edges(data.graph.A_geo)
        return GATTCN(data.num_features, edges, data.num_nodes, self.channels, self.heads)

    def warmup(self, module: nn.Module) -> int:
        """R − 1: the bins before a forecast bin that its TCN state reads."""
        return module.receptive_field - 1


@register("gat_tcn")
def make_gat_tcn(settings: ForecasterSettings) -> GATTCNForecaster:
    """The hybrid trained on NLL; ``quick``: 16 channels, 2 heads."""
    training = settings.training.model_copy(update={"objective": "nll"})
    if settings.quick:
        return GATTCNForecaster(training, QUICK_CHANNELS, QUICK_HEADS)
    return GATTCNForecaster(training)
