"""Building blocks: temporal convolutions, graph diffusion and Hawkes excitation."""

from fase.models.layers.diffusion import (
    AdaptiveAdjacency,
    GraphDiffusion,
    diffuse,
    diffusion_supports,
    row_normalize,
)
from fase.models.layers.hawkes import (
    HawkesExcitation,
    excitation_mask,
    exponential_window_sum,
    hawkes_excitation,
    softplus_inverse,
)
from fase.models.layers.tcn import CausalConv, GatedTemporalConv, shift_in_time

__all__ = [
    "AdaptiveAdjacency",
    "CausalConv",
    "GatedTemporalConv",
    "GraphDiffusion",
    "HawkesExcitation",
    "diffuse",
    "diffusion_supports",
    "excitation_mask",
    "exponential_window_sum",
    "hawkes_excitation",
    "row_normalize",
    "shift_in_time",
    "softplus_inverse",
]
