"""Training configuration (one engine for every neural forecaster)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from fase.config.dataset import Strict


class TrainingConfig(Strict):
    """Optimisation and windowing.

    ``window`` bins per training sample and ``stride`` between window starts (the paper:
    non-overlapping windows of 32). ``batch_size`` windows per minibatch. Adam with
    coupled L2 ``weight_decay``; global-norm gradient clipping; ReduceLROnPlateau on the
    validation loss; early stopping after ``early_stopping_patience`` epochs without
    improvement (``None``: off, the paper). The test split is scored with the ``best``
    validation checkpoint (the paper reports the ``last`` epoch's weights).
    """

    window: int = Field(32, ge=1)
    stride: int = Field(32, ge=1)
    batch_size: int = Field(32, ge=1)
    epochs: int = Field(100, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    grad_clip: float | None = 5.0
    plateau_factor: float = 0.5
    plateau_patience: int = 10
    min_lr: float = 1e-6
    early_stopping_patience: int | None = 15
    test_checkpoint: Literal["best", "last"] = "best"
    loss_reduction: Literal["element_mean", "batch_mean"] = "element_mean"
    threads: int = Field(2, ge=1)
