"""The FASE predictor (paper §2.3): STGNN embedding + Hawkes excitation → count head.

    e  = STGNN(x)                                  (B, N, T, D)
    E  = Hawkes(y_hist)                            (B, N, T)
    h  = ReLU(Linear(D → H_head)(e + Linear(1 → D)(E)))
    μ = softplus(w_μ·h + b_μ), θ = softplus(w_θ·h + b_θ), π = σ(w_π·h + b_π)

Sequence-to-sequence, one step ahead: position t predicts y_t from x_t (whose features
use counts up to t − 1) and from the excitation, which uses counts up to t − 1.
The head emits the parameters of ``config.distribution`` (ZINB: μ, θ, π; NB: μ, θ;
Poisson: μ). With the paper's settings on a 25-node graph: 108,309 parameters.
"""

from __future__ import annotations

from torch import Tensor, nn

from fase.config.model import ModelConfig
from fase.models.distributions import DISTRIBUTIONS, CountDistribution, count_distribution
from fase.models.heads import CountHead
from fase.models.layers.hawkes import HawkesExcitation, excitation_mask
from fase.models.stgnn import STGNN


class FASEModel(nn.Module):
    """STGNN + Hawkes excitation + count head.

    Args:
        num_nodes: N.
        adjacency: (N, N) combined adjacency for the STGNN diffusion.
        hawkes_mask: (N, N) binary mask of α (see :func:`excitation_mask`).
        config: the model configuration.
        num_features: F, features per node and step (13).
        hawkes_window_bins: H, the Hawkes memory in bins (``config.hawkes_window_bins(bin)``).
        outputs: K, count channels forecast jointly (crime types; 1: the total). The
            encoder and the Hawkes branch (on the total counts) are shared; the head emits
            one distribution per channel.

    Shapes: x (B, N, T, F), y_hist (B, N, P + T) → {name: (B, N, T)} for the distribution's
    parameters, (B, N, T, K) with K > 1 outputs. y_hist holds the counts of the P bins
    before the window and of the window itself (the count at window position t is used
    only for positions after t).
    Pass P = ``history_steps`` (H in ``"carry"`` mode, 0 in ``"restart"`` mode).
    """

    def __init__(
        self,
        num_nodes: int,
        adjacency: Tensor,
        hawkes_mask: Tensor,
        config: ModelConfig,
        *,
        num_features: int,
        hawkes_window_bins: int,
        outputs: int = 1,
    ) -> None:
        super().__init__()
        for name, matrix in (("adjacency", adjacency), ("hawkes_mask", hawkes_mask)):
            if tuple(matrix.shape) != (num_nodes, num_nodes):
                raise ValueError(
                    f"{name} must have shape ({num_nodes}, {num_nodes}), got {tuple(matrix.shape)}"
                )
        self.config = config
        self.stgnn = STGNN(num_features, adjacency, config)
        self.hawkes: HawkesExcitation | None = None
        if config.hawkes:
            self.hawkes = HawkesExcitation(
                hawkes_mask,
                hawkes_window_bins,
                config.hawkes_history,
                config.hawkes_alpha_init,
                config.hawkes_beta_init,
            )
            self.hawkes_proj = nn.Linear(1, config.embedding_dim)
        parameter_names = DISTRIBUTIONS[config.distribution].parameter_names
        self.head = CountHead(config.embedding_dim, config.head_hidden, parameter_names, outputs)

    @classmethod
    def from_graph(
        cls,
        adjacency: Tensor,
        a_geo: Tensor,
        config: ModelConfig,
        *,
        num_features: int,
        hawkes_window_bins: int,
        outputs: int = 1,
    ) -> FASEModel:
        """Build with the Hawkes mask A_geo (+ I if ``config.hawkes_self_excitation``)."""
        mask = excitation_mask(a_geo, config.hawkes_self_excitation)
        return cls(
            adjacency.shape[0],
            adjacency,
            mask,
            config,
            num_features=num_features,
            hawkes_window_bins=hawkes_window_bins,
            outputs=outputs,
        )

    @property
    def history_steps(self) -> int:
        """P, the bins of counts to pass before each window in ``y_hist`` (0 without Hawkes)."""
        return 0 if self.hawkes is None else self.hawkes.history_steps

    def forward(self, x: Tensor, y_hist: Tensor) -> dict[str, Tensor]:
        batch, nodes, steps, _ = x.shape
        if y_hist.shape[:2] != (batch, nodes) or y_hist.shape[-1] < steps:
            raise ValueError(
                f"y_hist must have shape ({batch}, {nodes}, P + {steps}), got {tuple(y_hist.shape)}"
            )
        return self.decode(self.stgnn(x), y_hist)

    def decode(self, embedding: Tensor, y_hist: Tensor) -> dict[str, Tensor]:
        """The Hawkes branch and the head on the STGNN embedding (B, N, T, D) and the
        counts y_hist (B, N, P + T): the distribution's parameters {name: (B, N, T)}."""
        if self.hawkes is not None:
            excitation = self.hawkes(y_hist.to(embedding.dtype), embedding.shape[2])
            embedding = embedding + self.hawkes_proj(excitation.unsqueeze(-1))
        return self.head(embedding)

    def distribution(self, params: dict[str, Tensor]) -> CountDistribution:
        """The predictive count distribution for the output of :meth:`forward`."""
        return count_distribution(self.config.distribution, params, eps=self.config.likelihood_eps)


def forecast_warmup(model: FASEModel) -> int:
    """Context bins a full-sequence forecast needs: R − 1 for the STGNN's receptive field
    R, and at least H when the Hawkes history restarts at every pass (it then sees the H
    counts before each bin from the pass itself, as with carried history)."""
    warmup = model.config.receptive_field - 1
    if model.hawkes is not None and model.hawkes.history == "restart":
        warmup = max(warmup, model.hawkes.window)
    return warmup
