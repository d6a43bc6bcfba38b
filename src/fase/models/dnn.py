"""The model-zoo study's DNN: a multilayer perceptron on each (area, bin)'s features.

    h₀ = x[b, n, t, :]                                           (F features, 13)
    h_ℓ = Dropout(ReLU(W_ℓ·h_{ℓ−1} + b_ℓ)),   ℓ = 1 … L          (L hidden layers of H units)
    μ[b, n, t] = softplus(w·h_L + c) + 10⁻⁶                       (or K means, or 5 level logits)

The study's best grid point is L = 3, H = 128 (lr 10⁻³). There is no graph and no count
history beyond what the features carry (lags 1–3 and rolling means, all from counts up
to t − 1), so ``y_hist`` is ignored and ``history_steps`` is 0. The study trains on the
squared error of μ; the predictive distribution is Poisson(μ), which scores that mean
with a likelihood. The floor 10⁻⁶ keeps log μ finite when softplus underflows (float32).
With K outputs the last layer gives one mean per crime type; with the risk-level
thresholds it gives the five level logits (:class:`fase.models.heads.Readout`).

Parameters: F·H + H + (L − 1)·(H² + H) + (H + 1)·K, e.g. 34,945 for F = 13, H = 128,
L = 3, K = 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from torch import Tensor, nn

from fase.models.distributions import CountDistribution
from fase.models.heads import Readout
from fase.models.layers.dropout import Dropout


class FeatureMLP(nn.Module):
    """The study's DNN (module docstring), applied to every (area, bin) independently.

    Args:
        num_features: F.
        hidden: H, units per hidden layer.
        layers: L ≥ 1 hidden layers.
        dropout: drop probability after each hidden layer (the study gives none: 0.1 is
            this implementation's choice).
        outputs, level_thresholds: what the last layer gives (:class:`Readout`).

    Shapes: x (B, N, W, F), y_hist (B, N, W) or any (ignored) → {"mu": (B, N, W)}, or
    (B, N, W, K), or {"logits": (B, N, W, 5)}.
    """

    history_steps = 0

    def __init__(
        self,
        num_features: int,
        hidden: int = 128,
        layers: int = 3,
        dropout: float = 0.1,
        *,
        outputs: int = 1,
        level_thresholds: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        if layers < 1:
            raise ValueError(f"the MLP needs at least one hidden layer, got {layers}")
        sizes = [num_features] + [hidden] * layers
        blocks: list[nn.Module] = []
        for fan_in, fan_out in pairwise(sizes):
            blocks += [nn.Linear(fan_in, fan_out), nn.ReLU(), Dropout(dropout)]
        self.hidden = nn.Sequential(*blocks)
        self.output = Readout(hidden, outputs, level_thresholds)

    def forward(self, x: Tensor, y_hist: Tensor) -> dict[str, Tensor]:
        del y_hist  # the features already carry the lagged counts
        return self.output(self.hidden(x))

    def distribution(self, params: dict[str, Tensor]) -> CountDistribution:
        """Poisson(μ) around the predicted mean(s), or the law of the risk levels."""
        return self.output.distribution(params)
