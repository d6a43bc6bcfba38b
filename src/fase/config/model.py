"""Model configuration: the FASE predictor (STGNN + Hawkes excitation + count head).

The defaults are the corrected behaviour; the ``paper`` preset sets
``hawkes_self_excitation: false`` and ``hawkes_history: restart`` (and keeps every
option beyond the paper off), which reproduces the published model with
108,309 parameters on a 25-node graph.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from fase.config.dataset import Strict
from fase.config.durations import Duration, bins_per

DEVICE_NAME = r"^(cpu|cuda(:[0-9]+)?)$"
"""A device :class:`ModelPlacement` accepts: ``cpu``, ``cuda`` (the current GPU) or ``cuda:K``."""


class ModelPlacement(Strict):
    """Model-parallel placement (:class:`fase.models.split.SplitFASE`): the STGNN
    ``encoder`` on one device, the Hawkes excitation and count ``head`` on another.

    Only the form of the names is checked here; whether the machine has the devices is
    checked when the model is split (a config may be written on a machine without GPUs).
    """

    encoder: str = Field(pattern=DEVICE_NAME)
    head: str = Field(pattern=DEVICE_NAME)


class ModelConfig(Strict):
    """Hyperparameters of :class:`fase.models.fase.FASEModel`.

    STGNN (Graph WaveNet-style): ``channels`` residual/skip channels C, ``embedding_dim``
    output embedding D, ``blocks`` residual blocks with kernel ``kernel_size`` and one
    dilation each, ``dropout`` after the gated activation. Graph diffusion: one support
    (A as given) for ``"forward"``, or row-normalised A and Aᵀ for ``"bidirectional"``;
    ``diffusion_hops`` powers of each; plus, if ``adaptive_adjacency``, the learned
    softmax(ReLU(E₁E₂ᵀ)) with ``node_embedding_dim``-dimensional node embeddings.

    Hawkes: α init, β init (both through softplus), memory ``hawkes_window`` (a duration,
    turned into bins with :meth:`hawkes_window_bins`), whether a node excites itself
    (mask A_geo + I) or only its neighbours (A_geo, paper), and the history each window
    sees: ``"carry"`` (the preceding window of counts, as at inference) or ``"restart"``
    (zero history at every window start, paper).

    ``hawkes: false`` drops the excitation branch (the "STGNN without Hawkes" ablation of
    the model zoo): the embedding is the STGNN's alone.

    Head: ``head_hidden`` units, then the parameters of ``distribution``.
    ``likelihood_eps``: ``None`` for the numerically stable likelihood; a number (paper:
    1e-6) clamps μ, θ ≥ eps and π ∈ [eps, 1 − eps] as the reference loss does.

    ``placement``: ``None`` (default) trains the model on ``training.device``; a
    :class:`ModelPlacement` splits it across two devices in ``fase train``
    (``docs/model_parallel.md``). It changes where the model runs, not the function it
    computes (identical numbers on CPUs; float rounding across device types).
    """

    channels: int = Field(64, ge=1)
    embedding_dim: int = Field(32, ge=1)
    blocks: int = Field(4, ge=1)
    kernel_size: int = Field(2, ge=1)
    dilations: tuple[int, ...] = (1, 2, 4, 8)
    dropout: float = Field(0.2, ge=0.0, lt=1.0)
    head_hidden: int = Field(32, ge=1)
    hawkes: bool = True
    hawkes_alpha_init: float = Field(0.5, gt=0.0)
    hawkes_beta_init: float = Field(1.0, gt=0.0)
    hawkes_window: Duration = "7d"
    hawkes_self_excitation: bool = True
    hawkes_history: Literal["carry", "restart"] = "carry"
    adaptive_adjacency: bool = False
    node_embedding_dim: int = Field(10, ge=1)
    diffusion: Literal["forward", "bidirectional"] = "forward"
    diffusion_hops: int = Field(1, ge=1)
    distribution: Literal["zinb", "nb", "poisson"] = "zinb"
    likelihood_eps: float | None = Field(None, gt=0.0, lt=0.5)
    placement: ModelPlacement | None = None

    @model_validator(mode="after")
    def _one_dilation_per_block(self) -> ModelConfig:
        if len(self.dilations) != self.blocks:
            raise ValueError(f"need one dilation per block: {self.blocks} blocks, {self.dilations}")
        if any(d < 1 for d in self.dilations):
            raise ValueError("dilations must be positive integers")
        return self

    @property
    def receptive_field(self) -> int:
        """Temporal receptive field of the STGNN in steps: 1 + (k − 1)·Σ dilations (paper: 16)."""
        return 1 + (self.kernel_size - 1) * sum(self.dilations)

    def hawkes_window_bins(self, bin_width: str) -> int:
        """H, the Hawkes memory in bins of ``bin_width`` (``"7d"`` at ``"1h"`` → 168)."""
        return bins_per(self.hawkes_window, bin_width, field="model.hawkes_window")
