"""Feature attributions of any count forecaster by Integrated Gradients (Captum).

The explained quantity is a scalar *readout* of a :class:`~fase.models.CountNetwork`
module, per window b of a batch:

    f_b(x) = Σ_{n ∈ A} Σ_{w ∈ S} E[Y_{b,n,w} | x, y_hist]

the expected count summed over the chosen areas A (one area, or all) and forecast
positions S (every forecast bin, or the last one). Integrated Gradients attributes
f_b(x) − f_b(x̄) to the input features x (B, N, W, F) along the straight path from a
baseline x̄ to x (Sundararajan et al., 2017):

    IG_{b,n,w,f} = (x − x̄)_{b,n,w,f} · ∫₀¹ ∂f_b(x̄ + α(x − x̄)) / ∂x_{b,n,w,f} dα

with the integral by Gauss–Legendre quadrature (``n_steps`` nodes). Completeness:
Σ IG_b = f_b(x) − f_b(x̄) up to the quadrature error, returned as ``delta``. For a
readout linear in x, IG = (x − x̄)·∇f exactly.

The count history ``y_hist`` is passed to the module unchanged and is *not* attributed:
the attributions say how the features move the forecast given the observed counts.
The lagged and rolling counts among the 13 features are attributed like any feature.
The default baseline is the training mean of every feature (all zeros for the
standardised features), so an attribution is the effect of a feature's departure from
its training average, in expected incidents.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from captum.attr import IntegratedGradients
from torch import Tensor, nn

from fase.errors import FaseInputError
from fase.forecasters.data import ForecastData
from fase.training.windows import CountSeries, WindowBatch

Readout = Literal["sum", "last"]


@dataclass(frozen=True)
class Attribution:
    """Integrated-Gradients attributions of a batch of windows.

    Attributes:
        values: (B, N, W, F) attribution of each input feature (expected incidents).
        delta: (B,) completeness gap Σ values_b − (f_b(x) − f_b(x̄)).
        readout: (B,) f_b(x), the explained expected count.
        feature_names: the F feature names.
    """

    values: np.ndarray
    delta: np.ndarray
    readout: np.ndarray
    feature_names: list[str]

    def by_feature(self) -> np.ndarray:
        """(F,) mean |attribution| per feature over windows, areas and positions."""
        return np.abs(self.values).mean(axis=(0, 1, 2))

    def by_area(self) -> np.ndarray:
        """(N, F) mean |attribution| of each area's own features over windows and positions."""
        return np.abs(self.values).mean(axis=(0, 2))


def total_expected_count(
    expected: Tensor, area: int | None = None, positions: slice = slice(None)
) -> Tensor:
    """(B,) sum of an expected count (B, N, W, …) over ``area`` (None: all), forecast
    ``positions`` and every trailing axis (the crime types of a per-type network)."""
    chosen = expected if area is None else expected[:, area : area + 1]
    chosen = chosen[:, :, positions]
    return chosen.sum(dim=tuple(range(1, chosen.ndim)))


def expected_count_readout(
    module: nn.Module, area: int | None = None, positions: slice = slice(None)
) -> Callable[[Tensor, Tensor], Tensor]:
    """f(x, y_hist) → (B,): E[Y] of ``module`` summed over ``area`` (None: all),
    ``positions`` and the crime types (:func:`total_expected_count`)."""

    def readout(x: Tensor, y_hist: Tensor) -> Tensor:
        expected = module.distribution(module(x, y_hist)).mean  # (B, N, W) or (B, N, W, K)
        return total_expected_count(expected, area, positions)

    return readout


def integrated_gradients(
    module: nn.Module,
    x: Tensor,
    y_hist: Tensor,
    *,
    baseline: Tensor | None = None,
    area: int | None = None,
    positions: slice = slice(None),
    n_steps: int = 32,
    internal_batch_size: int | None = None,
    feature_names: Sequence[str] | None = None,
) -> Attribution:
    """Integrated Gradients of the expected-count readout w.r.t. the features x.

    Args:
        module: a CountNetwork module (run in eval mode).
        x: (B, N, W, F) features; y_hist: (B, N, P + W) counts (not attributed).
        baseline: x̄, broadcastable to x (e.g. (F,)); None: zeros.
        area, positions: the readout's area (None: all) and forecast positions.
        n_steps: quadrature nodes; internal_batch_size: path points per forward pass
            (memory ∝ internal_batch_size · B · N · W).
        feature_names: F names (default ``x0 … x{F−1}``).
    """
    if x.ndim != 4:
        raise FaseInputError("x", f"need features (B, N, W, F), got shape {tuple(x.shape)}")
    num_features = x.shape[-1]
    names = (
        list(feature_names) if feature_names is not None else [f"x{i}" for i in range(num_features)]
    )
    if len(names) != num_features:
        raise FaseInputError("feature_names", f"need {num_features} names, got {len(names)}")
    if area is not None and not 0 <= area < x.shape[1]:
        raise FaseInputError("area", f"must be in [0, {x.shape[1]}), got {area}")
    if baseline is None:
        baseline = torch.zeros_like(x)
    baseline = torch.as_tensor(baseline, dtype=x.dtype, device=x.device).expand_as(x).contiguous()
    module.eval()
    readout = expected_count_readout(module, area, positions)
    attributions, delta = IntegratedGradients(readout).attribute(
        x,
        baselines=baseline,
        additional_forward_args=(y_hist,),
        n_steps=n_steps,
        method="gausslegendre",
        internal_batch_size=internal_batch_size,
        return_convergence_delta=True,
    )
    with torch.no_grad():
        value = readout(x, y_hist)
    return Attribution(
        values=attributions.detach().cpu().double().numpy(),
        delta=delta.detach().cpu().double().numpy(),
        readout=value.detach().cpu().double().numpy(),
        feature_names=names,
    )


def training_baseline(data: ForecastData) -> np.ndarray:
    """(F,) float32 mean of each model input feature over the training split's cells."""
    start, end = data.bounds("train")
    return data.x[:, start:end].mean(axis=(0, 1)).astype(np.float32)


def explained_windows(
    module: nn.Module, data: ForecastData, starts: Sequence[int], warmup: int, length: int
) -> WindowBatch:
    """The forward passes an explanation takes: for each s in ``starts``, the window of
    bins [s − warmup, s + length) of ``data`` (checked to lie inside it), batched as
    :meth:`fase.training.windows.CountSeries.batch` batches them.

    Raises:
        FaseInputError: no window, ``length`` < 1, ``warmup`` < 0, or a window outside
            the data.
    """
    begins = np.asarray(starts, dtype=np.int64) - warmup
    if begins.size == 0 or length < 1 or warmup < 0:
        raise FaseInputError("starts", "need at least one window, length ≥ 1 and warmup ≥ 0")
    if begins.min() < 0 or begins.max() + warmup + length > data.num_steps:
        raise FaseInputError(
            "starts",
            f"windows with {warmup} warm-up bins must lie inside [0, {data.num_steps})",
            f"start every window at bin {warmup} or later",
        )
    series = CountSeries(data.x, data.y.astype(np.float32), module.history_steps)
    return series.batch(begins, warmup + length)


def explain_windows(
    module: nn.Module,
    data: ForecastData,
    starts: Sequence[int],
    length: int,
    *,
    warmup: int,
    area: int | None = None,
    readout: Readout = "sum",
    n_steps: int = 32,
    internal_batch_size: int | None = None,
) -> Attribution:
    """Attributions of the forecasts of windows [s, s + length) of ``data``, s in ``starts``.

    Each window is one forward pass over bins [s − warmup, s + length) (the warm-up makes
    the forecast exact, as in :func:`fase.training.forecast_span`); the readout sums the
    expected count over the forecast bins (``"sum"``) or takes the last one (``"last"``).
    The baseline is :func:`training_baseline`. Attributions cover every bin of the pass,
    warm-up included (W = warmup + length), since earlier features move the forecast too.
    """
    batch = explained_windows(module, data, starts, warmup, length)
    positions = slice(warmup, None) if readout == "sum" else slice(-1, None)
    return integrated_gradients(
        module,
        batch.x,
        batch.y_hist,
        baseline=torch.from_numpy(training_baseline(data)),
        area=area,
        positions=positions,
        n_steps=n_steps,
        internal_batch_size=internal_batch_size,
        feature_names=data.feature_names,
    )
