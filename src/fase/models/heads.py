"""The last layers of the networks: from an embedding to a distribution's parameters.

* :class:`CountHead` (FASE, GAT+TCN): a shared hidden layer, then one linear map and link
  per parameter of a count distribution (μ, θ > 0 by softplus, π ∈ (0, 1) by sigmoid), or
  the raw logits of the five risk levels;
* :class:`Readout` (the study's DNN and LSTM): K expected counts by softplus (Poisson
  around the mean, the study's squared-error training), or the logits of the five risk
  levels (a classifier trained with cross-entropy).

With K > 1 outputs (crime types forecast jointly) every parameter gets a trailing K axis.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fase.models.distributions import CountDistribution, LevelCategorical, Poisson


def below_one_sigmoid(raw: Tensor) -> Tensor:
    """σ(raw), at most the largest value below 1 of its dtype: a saturated sigmoid (raw ≳ 17
    in float32) would give π = 1 and a likelihood of −∞ for any positive count."""
    return torch.sigmoid(raw).clamp(max=1 - torch.finfo(raw.dtype).eps / 2)


LINKS: dict[str, Callable[[Tensor], Tensor]] = {
    "mu": F.softplus,
    "theta": F.softplus,
    "pi": below_one_sigmoid,
    "logits": lambda raw: raw,
}
"""Output link per parameter: μ, θ > 0 by softplus, π ∈ (0, 1) by sigmoid, logits as they are."""
MEAN_FLOOR = 1e-6
"""Added to every softplus mean (counts per bin) so that Poisson log μ stays finite."""


class CountHead(nn.Module):
    """Shared Linear(D → hidden) + ReLU, then one Linear(hidden → K) and link per parameter.

    The per-parameter Linears are applied as one product with their stacked weights.

    Shapes: h (B, N, T, D) → {name: (B, N, T)}, or (B, N, T, K) with K = ``outputs`` > 1.
    """

    def __init__(
        self, in_dim: int, hidden: int, parameter_names: tuple[str, ...], outputs: int = 1
    ) -> None:
        super().__init__()
        self.outputs = outputs
        self.shared = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU())
        self.heads = nn.ModuleDict({name: nn.Linear(hidden, outputs) for name in parameter_names})

    def forward(self, h: Tensor) -> dict[str, Tensor]:
        heads = list(self.heads.values())
        weight = torch.cat([head.weight for head in heads])  # (P·K, hidden)
        bias = torch.cat([head.bias for head in heads])
        raw = F.linear(self.shared(h), weight, bias)
        if self.outputs == 1:
            parts = raw.unbind(-1)
        else:
            parts = raw.unflatten(-1, (len(heads), self.outputs)).unbind(-2)
        return {name: LINKS[name](value) for name, value in zip(self.heads, parts, strict=True)}


def softplus_mean(raw: Tensor) -> Tensor:
    """Expected count from an unconstrained output: softplus(raw) + 10⁻⁶ (same shape)."""
    return F.softplus(raw) + MEAN_FLOOR


N_LEVELS = 5


class Readout(nn.Module):
    """The study networks' last layer: Linear(D → K) and softplus, K expected counts
    (Poisson around the mean; K = 1 squeezed: the total), or, given the risk-level
    thresholds, Linear(D → 5) logits of the level of the total count.

    Args:
        in_dim: D.
        outputs: K count channels (crime types forecast jointly; 1: the total).
        level_thresholds: the four count thresholds τ₁ < … < τ₄ of the levels
            (:class:`fase.evaluation.levels.RiskLevels`), kept as a buffer; None: counts.

    Shapes: h (…, D) → {"mu": (…) or (…, K)} or {"logits": (…, 5)}.
    """

    def __init__(
        self, in_dim: int, outputs: int = 1, level_thresholds: Sequence[int] | None = None
    ) -> None:
        super().__init__()
        self.levels = level_thresholds is not None
        self.linear = nn.Linear(in_dim, N_LEVELS if self.levels else outputs)
        if level_thresholds is not None:
            self.register_buffer(
                "level_thresholds", torch.as_tensor(list(level_thresholds), dtype=torch.float32)
            )

    def forward(self, h: Tensor) -> dict[str, Tensor]:
        raw = self.linear(h)
        if self.levels:
            return {"logits": raw}
        return {"mu": softplus_mean(raw.squeeze(-1) if raw.shape[-1] == 1 else raw)}

    def distribution(self, params: dict[str, Tensor]) -> CountDistribution:
        """Poisson(μ) around the predicted mean, or the categorical law of the levels."""
        if self.levels:
            return LevelCategorical(params["logits"], self.level_thresholds)
        return Poisson(params["mu"])
