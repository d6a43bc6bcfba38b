"""Forecasts of a span of bins: the value every forecaster returns, the full-sequence
forecast of a network, and the forecast artefact.

A :class:`SpanForecast` is the predictive count distribution of bins [start, end) × N
areas: the distribution's name, its parameters and its expected count.

:func:`forecast_span` forecasts every bin of a span with a network in a few forward
passes. The span is cut into chunks of at most ``chunk_steps`` bins. Each chunk
[c, c + L) is one forward pass over bins [c − warmup, c + L) (clipped at bin 0), with the
P = ``history_steps`` counts before that as history; the first outputs, which belong to
the warm-up, are dropped. With ``warmup`` ≥ the model's dependence on the past (the
STGNN's receptive field − 1, and the Hawkes memory H when its history restarts at the
pass start), the result does not depend on the chunking, and every bin t is forecast
from features up to t and true counts up to t − 1 (causal, one step ahead).
:func:`forecast_copies` runs that pass for K copies of one network at once, each on its
own sample (the feedback simulator's lockstep passes).

Artefact ``RUN_DIR/forecast/forecast.npz`` (no pickle), every array (T, N) unless stated
(float32 for networks, float64 for the statistical baselines):

    mu, theta, pi          the test split's distribution parameters (those the model has)
    expected               the test split's expected count E[Y] ((1 − π)·μ for ZINB)
    bin_start              (T,) int64 bin starts, ns since the epoch (UTC)
    span                   (2,) int64 [start, end) bin indices of the test split
    val_mu, val_theta, …   the same for the validation split, with the prefix ``val_``
    distribution           () str, the count distribution (``zinb``, ``nb``, ``poisson``)
    likelihood_eps         () float64, the likelihood clamp, NaN for none
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from fase.errors import FaseInputError
from fase.io import write_npz
from fase.models.distributions import DISTRIBUTIONS, CountDistribution, count_distribution
from fase.rundir import load_arrays, require_keys
from fase.training.windows import CountSeries

SCORED_SPLIT = "test"  # stored without a prefix: what `fase allocate` and `fase evaluate` read


@dataclass(frozen=True)
class SpanForecast:
    """The predictive distribution of bins [start, end) × N areas.

    Attributes:
        start, end: the bins (absolute indices of the series forecast).
        params: parameter name → (T, N) array (``DISTRIBUTIONS[distribution]``'s names);
            (T, N, K) for a model forecasting K crime types, (T, N, 5) level logits for a
            risk-level classifier.
        expected: (T, N) expected count E[Y] ((T, N, K) per type; NaN for a classifier).
        distribution: ``zinb``, ``nb``, ``poisson`` or ``levels``.
        eps: the likelihood clamp of the distribution (None: none).
    """

    start: int
    end: int
    params: dict[str, np.ndarray]
    expected: np.ndarray
    distribution: str
    eps: float | None = None

    @property
    def mu(self) -> np.ndarray:
        """(T, N) float64 the mean parameter μ (the NB mean; the paper allocates on it)."""
        return self.params["mu"].astype(np.float64)

    def to_distribution(self, rows: slice = slice(None)) -> CountDistribution:
        """The distribution of bins ``rows`` of the span, float64 parameters (T', N)."""
        params = {k: torch.from_numpy(v[rows].astype(np.float64)) for k, v in self.params.items()}
        return count_distribution(self.distribution, params, eps=self.eps)

    def rows(self, lo: int, hi: int) -> SpanForecast:
        """The forecast of rows [lo, hi) of the span (bins [start + lo, start + hi))."""
        params = {k: v[lo:hi] for k, v in self.params.items()}
        expected = self.expected[lo:hi]
        return SpanForecast(self.start + lo, self.start + hi, params, expected, *self._law)

    @staticmethod
    def concat(pieces: Sequence[SpanForecast]) -> SpanForecast:
        """Consecutive forecasts of one distribution as one span.

        Raises:
            ValueError: the pieces are not consecutive or differ in their distribution.
        """
        laws = {piece._law for piece in pieces}
        gaps = [a.end != b.start for a, b in pairwise(pieces)]
        if not pieces or len(laws) != 1 or any(gaps):
            raise ValueError("only consecutive forecasts of one distribution concatenate")
        params = {k: np.concatenate([p.params[k] for p in pieces]) for k in pieces[0].params}
        expected = np.concatenate([p.expected for p in pieces])
        return SpanForecast(pieces[0].start, pieces[-1].end, params, expected, *laws.pop())

    @property
    def _law(self) -> tuple[str, float | None]:
        return self.distribution, self.eps

    @classmethod
    def of_distribution(cls, start: int, end: int, distribution: CountDistribution) -> SpanForecast:
        """The forecast of a (T, N) distribution of bins [start, end) (float64 arrays)."""
        params = {
            k: v.detach().cpu().double().numpy() for k, v in distribution.parameters().items()
        }
        expected = distribution.mean.detach().cpu().double().numpy()
        return cls(start, end, params, expected, distribution.name, distribution.eps)


@torch.no_grad()
def forecast_span(
    model: nn.Module,
    series: CountSeries,
    start: int,
    end: int,
    *,
    warmup: int,
    chunk_steps: int = 2048,
) -> SpanForecast:
    """Forecast every bin of [start, end) of ``series`` (see the module docstring).

    Args:
        model: a :class:`~fase.models.CountNetwork` module; run in eval mode.
        series: the whole series (features and true counts, the latter as history).
        warmup: bins of context before each chunk.
        chunk_steps: the most bins forecast per forward pass (memory ∝ warmup + chunk).
    Returns:
        float32 parameters and expected counts.
    """
    if not 0 <= start < end <= series.num_steps:
        raise ValueError(f"span [{start}, {end}) is not inside [0, {series.num_steps})")
    if warmup < 0 or chunk_steps < 1:
        raise ValueError(f"need warmup ≥ 0 and chunk_steps ≥ 1, got {warmup}, {chunk_steps}")
    model.eval()
    pieces: dict[str, list[torch.Tensor]] = {}
    law: CountDistribution | None = None
    for chunk in range(start, end, chunk_steps):
        begin = max(0, chunk - warmup)
        batch = series.span(begin, min(chunk + chunk_steps, end))
        params = {k: v[0, :, chunk - begin :] for k, v in model(batch.x, batch.y_hist).items()}
        law = model.distribution(params)
        params["expected"] = law.mean
        for name, value in params.items():
            pieces.setdefault(name, []).append(value)
    assert law is not None  # the span is not empty
    arrays = {
        k: torch.cat(v, dim=1).transpose(0, 1).cpu().numpy().astype(np.float32)
        for k, v in pieces.items()
    }
    expected = arrays.pop("expected")
    return SpanForecast(start, end, arrays, expected, law.name, law.eps)


@torch.no_grad()
def forecast_copies(
    template: nn.Module,
    stacked: Mapping[str, torch.Tensor],
    x: torch.Tensor,
    y_hist: torch.Tensor,
    skip: int,
) -> tuple[dict[str, np.ndarray], np.ndarray, CountDistribution]:
    """K copies of one network, each forecasting its own sample, as one vectorised
    forward pass (``torch.func.vmap`` of ``functional_call``); the pass of copy k is the
    one :func:`forecast_span` runs over one chunk.

    Args:
        template: the network (any copy); run in eval mode with the stacked weights.
        stacked: every parameter and buffer of the K copies, stacked along a leading
            axis (``torch.func.stack_module_state``), on the samples' device.
        x: (K, N, W, F) the copies' features of bins [begin, end).
        y_hist: (K, N, P + W) their counts of bins [begin − P, end).
        skip: the first ``skip`` output bins are warm-up, dropped.
    Returns:
        float32 parameters (K, W − skip, N) by name, the expected counts (K, W − skip, N)
        and the law (for its name and clamp). Copy k's equal :func:`forecast_span`'s for
        copy k up to float rounding (batched matrix products sum in another order).
    """
    template.eval()

    def forward(weights: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> dict:
        return functional_call(template, weights, (x[None], y[None]))

    outputs = vmap(forward)(dict(stacked), x, y_hist)
    params = {k: v[:, 0, :, skip:] for k, v in outputs.items()}  # (K, N, L)
    law = template.distribution(params)
    params["expected"] = law.mean
    arrays = {k: v.transpose(1, 2).cpu().numpy().astype(np.float32) for k, v in params.items()}
    expected = arrays.pop("expected")
    return arrays, expected, law


def _prefix(split: str) -> str:
    return "" if split == SCORED_SPLIT else f"{split}_"


def write_forecast(
    path: str | Path, forecasts: Mapping[str, SpanForecast], bin_start: np.ndarray
) -> Path:
    """Write the forecasts of each split (``"test"`` unprefixed) to ``path`` atomically.

    Args:
        forecasts: split name → its forecast; must include ``"test"``; one distribution.
        bin_start: (T_all,) int64 bin starts of the whole series.
    """
    if SCORED_SPLIT not in forecasts:
        raise ValueError("the forecast artefact needs the test split")
    scored = forecasts[SCORED_SPLIT]
    arrays: dict[str, np.ndarray] = {
        "distribution": np.array(scored.distribution),
        "likelihood_eps": np.array(math.nan if scored.eps is None else scored.eps),
    }
    for split, forecast in forecasts.items():
        prefix = _prefix(split)
        arrays.update({prefix + k: v for k, v in forecast.params.items()})
        arrays[prefix + "expected"] = forecast.expected
        arrays[prefix + "bin_start"] = np.asarray(
            bin_start[forecast.start : forecast.end], np.int64
        )
        arrays[prefix + "span"] = np.array([forecast.start, forecast.end], dtype=np.int64)
    return write_npz(path, arrays)


def read_forecast(path: str | Path, split: str = SCORED_SPLIT) -> SpanForecast:
    """The forecast of ``split`` from an artefact written by :func:`write_forecast`."""
    path = Path(path)
    if not path.is_file():
        raise FaseInputError(path, "forecast not found", "run `fase train` on this run first")
    hint = "run `fase train` on this run again"
    arrays = load_arrays(path, hint)
    prefix = _prefix(split)
    require_keys(path, arrays, ("distribution", "likelihood_eps"), hint)
    if prefix + "span" not in arrays:
        raise FaseInputError(path, f"holds no forecast of the {split} split")
    distribution = str(arrays["distribution"])
    eps = float(arrays["likelihood_eps"])
    start, end = (int(v) for v in arrays[prefix + "span"])
    if distribution not in DISTRIBUTIONS:
        raise FaseInputError(path, f"names an unknown count distribution {distribution!r}")
    names = DISTRIBUTIONS[distribution].parameter_names
    require_keys(path, arrays, tuple(prefix + k for k in (*names, "expected")), hint)
    params = {k: arrays[prefix + k] for k in names}
    return SpanForecast(
        start,
        end,
        params,
        arrays[prefix + "expected"],
        distribution,
        None if math.isnan(eps) else eps,
    )
