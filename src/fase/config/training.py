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

    ``objective``: the minibatch loss, the count distribution's mean NLL (``nll``) or the
    mean squared error of its expected count (``mse``, the model-zoo study's DNN and LSTM).
    ``loss_reduction``: an epoch's logged loss (and the validation loss that drives the
    scheduler, checkpoints and early stopping) is the mean NLL over all its elements
    (``element_mean``) or the unweighted mean of its minibatch means (``batch_mean``,
    the reference code). ``threads``: torch intra-op threads (per process).

    ``device``: where :func:`fase.training.fit` trains — ``cpu``, ``cuda`` (one GPU per
    process) or ``auto`` (cuda when torch sees a GPU). ``loader_workers``: processes that
    gather the minibatches (0: in the training process, the measured fastest for these
    small tensors; ≥ 1: a DataLoader with persistent workers, pinned memory on a GPU).
    Neither changes the result, so a run may resume with other values.
    """

    window: int = Field(32, ge=1)
    stride: int = Field(32, ge=1)
    batch_size: int = Field(32, ge=1)
    epochs: int = Field(100, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    grad_clip: float | None = Field(5.0, gt=0)
    plateau_factor: float = Field(0.5, gt=0, lt=1)
    plateau_patience: int = Field(10, ge=0)
    min_lr: float = Field(1e-6, ge=0)
    early_stopping_patience: int | None = Field(15, ge=1)
    test_checkpoint: Literal["best", "last"] = "best"
    objective: Literal["nll", "mse"] = "nll"
    loss_reduction: Literal["element_mean", "batch_mean"] = "element_mean"
    threads: int = Field(2, ge=1)
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    loader_workers: int = Field(0, ge=0)
