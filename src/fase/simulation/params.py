"""What stays fixed during a simulation: the settings (:class:`Params`) and the world
(:class:`World`: true counts, fairness groups, and how model inputs are built).

Notation: N areas, T bins of the whole series, L bins per deployment period,
B patrol units per bin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd

from fase.allocation.groups import Groups
from fase.config import RunConfig, parse_duration
from fase.data.features import FeatureSpec, build_features, calendar_features
from fase.data.pipeline import feature_spec
from fase.data.tensors import Tensors, apply_scaler
from fase.errors import FaseInputError
from fase.forecasters.base import TrainingRequest

Mode = Literal["paper", "rolling"]
DetectionKind = Literal["expected", "binomial"]
RiskKind = Literal["mu", "expected"]
Reduction = Literal["element_mean", "batch_mean"]


@dataclass(frozen=True)
class Params:
    """Frozen settings of one simulation.

    Attributes:
        mode: ``paper`` (the same window every cycle, true-count inputs) or ``rolling``.
        cycles: K.
        start: first bin of the first period (the test split's start).
        period_bins: L, bins per period (paper mode: the test window's length).
        budget: B, patrol units per bin.
        p_base, p_max: detection model d(p) = p_base + (p_max − p_base)·clip(p/B, 0, 1).
        detection: ``expected`` (y_obs = d·y) or ``binomial`` (y_obs ~ Binomial(y, d)).
        risk: forecast array the policy allocates on: ``mu`` (NB mean, the paper) or
            ``expected`` (the distribution mean, (1 − π)·μ for ZINB).
        retrain_epochs, retrain_window, retrain_batch: fine-tuning per cycle: epochs,
            W bins per non-overlapping window, windows per optimiser step.
        lr, weight_decay, grad_clip: a fresh Adam per cycle, global-norm clipping.
        loss_reduction: how an epoch's loss averages its minibatches (training engine).
        forecast_block: rolling mode: the bins forecast per fixed-point pass
            (``None``: adaptive, see :func:`fase.simulation.rolling.deploy_period`).
        capture: on a GPU, retrain by replaying a captured step
            (:attr:`fase.forecasters.base.TrainingRequest.capture`).
    """

    mode: Mode
    cycles: int
    start: int
    period_bins: int
    budget: float = 60.0
    p_base: float = 0.30
    p_max: float = 0.90
    detection: DetectionKind = "expected"
    risk: RiskKind = "expected"
    retrain_epochs: int = 50
    retrain_window: int = 64
    retrain_batch: int = 1
    lr: float = 1e-3
    weight_decay: float = 1e-4
    grad_clip: float | None = 5.0
    loss_reduction: Reduction = "batch_mean"
    forecast_block: int | None = None
    capture: bool = True

    def __post_init__(self) -> None:
        if self.cycles < 1 or self.period_bins < 1 or self.start < 0:
            raise ValueError("need cycles ≥ 1, period_bins ≥ 1 and start ≥ 0")
        if self.budget <= 0 or not 0 <= self.p_base <= self.p_max <= 1:
            raise ValueError("need B > 0 and 0 ≤ p_base ≤ p_max ≤ 1")
        if self.forecast_block is not None and self.forecast_block < 1:
            raise ValueError("forecast_block must be ≥ 1 (or None)")

    def period(self, cycle: int) -> tuple[int, int]:
        """Bins [start, stop) deployed in ``cycle`` (0-based); paper mode: always the window."""
        if self.mode == "paper":
            return self.start, self.start + self.period_bins
        first = self.start + cycle * self.period_bins
        return first, first + self.period_bins

    @property
    def end(self) -> int:
        """One past the last bin any cycle deploys."""
        return self.period(self.cycles - 1)[1]

    def retraining(
        self,
        offset: int,
        x: np.ndarray,
        counts: np.ndarray,
        starts: np.ndarray,
        hour_of_week: np.ndarray,
    ) -> TrainingRequest:
        """The fine-tuning request of a cycle: windows of ``retrain_window`` bins at
        ``starts`` over ``x`` and ``counts`` (column 0 = bin ``offset``), with this
        simulation's epochs, batch and optimiser settings."""
        return TrainingRequest(
            offset=offset,
            x=x,
            counts=counts,
            starts=starts,
            window=self.retrain_window,
            epochs=self.retrain_epochs,
            batch_size=self.retrain_batch,
            lr=self.lr,
            weight_decay=self.weight_decay,
            grad_clip=self.grad_clip,
            reduction=self.loss_reduction,
            hour_of_week=hour_of_week,
            capture=self.capture,
        )


@dataclass(frozen=True)
class FeatureMap:
    """Model inputs from a count record: :func:`fase.data.features.build_features` + scaler.

    Attributes:
        spec: which count features (lags, rolling windows, head rule).
        starts: (T,) local tz-aware bin starts.
        static: (N, 3) static demographics.
        scaler: ``{"mean": [F], "std": [F]}`` fitted on the training part.
    """

    spec: FeatureSpec
    starts: pd.DatetimeIndex
    static: np.ndarray
    scaler: dict[str, list[float]]

    @cached_property
    def calendar(self) -> np.ndarray:
        """(T, 4) calendar features of every bin, computed once (a forecast pass of the
        simulator reads a slice instead of converting bin starts every time)."""
        return calendar_features(self.starts)

    @cached_property
    def hours_of_week(self) -> np.ndarray:
        """(T,) int64 local hour of the week of every bin (Monday 00:00 = 0)."""
        return (self.starts.day_of_week * 24 + self.starts.hour).to_numpy(np.int64)

    def hour_of_week(self, lo: int, hi: int) -> np.ndarray:
        """(hi − lo,) int64 local hour of the week of bins [lo, hi) (a copy)."""
        return self.hours_of_week[lo:hi].copy()

    @property
    def margin(self) -> int:
        """Bins of past counts a feature at t reads: max(lags, longest window) (≥ 1)."""
        return max(self.spec.lags, *self.spec.window_bins, 1)

    def __call__(
        self, counts: np.ndarray, exposure: np.ndarray, lo: int, hi: int, offset: int = 0
    ) -> np.ndarray:
        """Scaled features (N, hi − lo, F) float32 of bins [lo, hi).

        Args:
            counts: (N, ≥ hi − offset) count record whose column 0 is bin ``offset``;
                only bins [lo − margin, hi − 1] are read (offset ≤ max(0, lo − margin)).
            exposure: patrol units per bin, laid out as ``counts``; the feature at t is
                exposure[t − 1].

        Built on bins [max(0, lo − margin), hi), so every feature of [lo, hi) equals the
        one computed on the whole series (the head rule only touches the first bins).
        """
        first = max(0, lo - self.margin)
        if not 0 <= offset <= first:
            raise ValueError(f"the record starts at bin {offset}, features read from {first}")
        columns = slice(first - offset, hi - offset)
        raw = build_features(
            counts[:, columns],
            self.calendar[first:hi],
            self.static,
            self.spec,
            exposure[:, columns],
            first=lo - first,
        )
        return apply_scaler(raw, self.scaler)


@dataclass(frozen=True)
class World:
    """The simulated city, fixed for the whole run.

    Attributes:
        true_counts: (N, T) float64 true incidents per area and bin (never shown to the
            model after ``Params.start`` in rolling mode).
        true_features: (N, T, F) float32 scaled features built from the true counts with
            zero patrol exposure (what the model was trained on).
        groups: fairness groups of the N areas.
        features: builds features from an observed record (rolling mode).
        bin_start: (T,) int64 bin starts, ns since the epoch (UTC), for reports.
    """

    true_counts: np.ndarray
    true_features: np.ndarray
    groups: Groups
    features: FeatureMap
    bin_start: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __post_init__(self) -> None:
        n, t = self.true_counts.shape
        if self.true_features.shape[:2] != (n, t) or self.groups.n_nodes != n:
            raise ValueError(
                f"true_features {self.true_features.shape[:2]} and groups "
                f"({self.groups.n_nodes}) must match the counts {(n, t)}"
            )

    @property
    def n_areas(self) -> int:
        return int(self.true_counts.shape[0])

    @property
    def n_bins(self) -> int:
        return int(self.true_counts.shape[1])


def world_of(tensors: Tensors, cfg: RunConfig) -> World:
    """The simulated city of a run: true counts, their features, groups, feature builder."""
    meta = tensors.meta
    try:
        groups = Groups.from_labels(meta["groups"])
    except (KeyError, ValueError) as exc:
        raise FaseInputError("data/meta.json", f"no usable 'groups' list ({exc})") from exc
    return World(
        tensors.y.astype(np.float64),
        tensors.scaled_x(),
        groups,
        feature_map(tensors, cfg, tensors.starts()),
        np.asarray(tensors.bin_start, np.int64),
    )


def feature_map(tensors: Tensors, cfg: RunConfig, starts: pd.DatetimeIndex) -> FeatureMap:
    """The run's feature builder over the bins ``starts`` (the run's, or extended)."""
    meta = tensors.meta
    spec = feature_spec(cfg, parse_duration(meta["bin"], "data/meta.json bin"))
    return FeatureMap(spec, starts, np.asarray(meta["static"], dtype=float), meta["scaler"])
