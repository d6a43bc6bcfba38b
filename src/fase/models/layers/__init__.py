"""Building blocks: temporal convolutions, dropout, graph diffusion and Hawkes excitation."""

from fase.models.layers.diffusion import (
    AdaptiveAdjacency,
    GraphDiffusion,
    diffuse,
    diffusion_supports,
    row_normalize,
)
from fase.models.layers.dropout import Dropout, dropout_scale
from fase.models.layers.hawkes import (
    HawkesExcitation,
    decay_matrix,
    excitation_mask,
    exponential_window_sum,
    hawkes_excitation,
    softplus_inverse,
)
from fase.models.layers.tcn import CausalConv, GatedTemporalConv, causal_conv, shift_in_time

__all__ = [
    "AdaptiveAdjacency",
    "CausalConv",
    "Dropout",
    "GatedTemporalConv",
    "GraphDiffusion",
    "HawkesExcitation",
    "causal_conv",
    "decay_matrix",
    "diffuse",
    "diffusion_supports",
    "dropout_scale",
    "excitation_mask",
    "exponential_window_sum",
    "hawkes_excitation",
    "row_normalize",
    "shift_in_time",
    "softplus_inverse",
]
