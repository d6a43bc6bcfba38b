"""Settings of the deployment feedback simulator (Phase 5).

Two modes:

* ``rolling`` (default, the corrected experiment): K consecutive deployment periods
  of ``period`` each, starting at the test split; each is forecast from observed
  history only, patrolled, observed through the detection model, and then used (as
  observed counts) to retrain the model before the next period.
* ``paper``: the reference code's experiment (reference §5): the same test window in
  every cycle, inference on true counts, retraining on that window (test-set leakage,
  documented in docs/simulation.md).

The allocation policy, budget and risk array come from the allocation settings
(:class:`fase.allocation.AllocationConfig`); Adam's learning rate, weight decay and
gradient clipping come from the training settings, as in the reference code.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from fase.config.dataset import Strict
from fase.config.durations import Duration, bins_per


class SimulationConfig(Strict):
    """Phase 5 settings.

    Attributes:
        mode: ``rolling`` (corrected) or ``paper`` (reference-faithful, leaky).
        cycles: K, deployment cycles (paper: 6).
        period: rolling mode: length of one deployment period as a duration
            (``"7d"``); converted to bins with :meth:`period_bins`. Ignored in paper mode.
        retrain_epochs: epochs of fine-tuning per cycle (paper: 50).
        retrain_window: W, bins per retraining window; windows do not overlap (paper: 64).
        retrain_batch: windows per optimiser step (paper: 1).
        detection: ``expected`` (y_obs = d·y_true, the paper) or ``binomial``
            (y_obs ~ Binomial(y_true, d), each incident detected independently).
        replicates: R, independent runs with binomial detection (1 with ``expected``).
        p_base, p_max: the detection model d(p) = p_base + (p_max − p_base)·clip(p/B, 0, 1).
        interval: central probability of the reported interval over replicates (0.95).
        forecast_block: rolling mode: the bins forecast per fixed-point pass (``None``:
            adaptive, the rest of the period until a pass settles a single bin, then
            one bin per pass; see docs/simulation.md).
        policy_study: whether ``fase run`` also simulates every allocation policy
            (rolling mode only; the study multiplies Phase 5's cost by four, eight with
            floors).
        study_floor_share: the study also runs every policy with the patrol floor
            share·B/N (0: no floor variants).
        batched: the replicates (and the study's policies × replicates) advance in
            lockstep: every pass's forecasts of all copies are one vectorised forward
            pass, their allocations one call per policy, and the copies retrain as one
            batched model (``torch.func.vmap``; :mod:`fase.simulation.lockstep`), equal
            to separate runs up to float rounding; ``False``: each copy forecasts and
            retrains alone, and the study may use worker processes instead.
        capture: on a GPU, each retraining of one copy replays one step captured as a
            CUDA graph (:mod:`fase.training.captured`) instead of launching its kernels
            one by one, with the eager step's numbers; ignored on a CPU and by batched
            retrainings.
    """

    mode: Literal["paper", "rolling"] = "rolling"
    cycles: int = Field(6, ge=1)
    period: Duration = "7d"
    retrain_epochs: int = Field(50, ge=0)
    retrain_window: int = Field(64, ge=1)
    retrain_batch: int = Field(1, ge=1)
    detection: Literal["expected", "binomial"] = "expected"
    replicates: int = Field(1, ge=1)
    p_base: float = Field(0.30, ge=0.0, le=1.0)
    p_max: float = Field(0.90, ge=0.0, le=1.0)
    interval: float = Field(0.95, gt=0.0, lt=1.0)
    forecast_block: int | None = Field(None, ge=1)
    policy_study: bool = True  # `fase run` (rolling mode): simulate every policy as well
    study_floor_share: float = Field(0.25, ge=0.0, le=1.0)
    batched: bool = True
    capture: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> SimulationConfig:
        if self.p_max < self.p_base:
            raise ValueError("p_max must be ≥ p_base")
        if self.detection == "expected" and self.replicates != 1:
            raise ValueError("expected-value detection is deterministic: use replicates = 1")
        return self

    def period_bins(self, bin_width: str) -> int:
        """Bins per deployment period (``"7d"`` at ``"1h"`` → 168)."""
        return bins_per(self.period, bin_width, field="simulation.period")
