"""SHAP values of a count forecaster by expected gradients (``shap.GradientExplainer``).

The explained quantity is the one Integrated Gradients explains
(:mod:`fase.explain.attributions`), per window b of a batch:

    f_b(x) = Σ_{n ∈ A} Σ_{w ∈ S} Σ_k E[Y_{b,n,w,k} | x, y_hist_b]

the expected count summed over the chosen areas A, forecast positions S and every
further output axis k (a network that forecasts each crime type, (B, N, W, K)). Instead
of one baseline x̄, SHAP integrates over a *background* D of training-split windows.
Expected gradients (Erion et al., 2021; Lundberg & Lee's ``GradientExplainer``) are
Integrated Gradients averaged over baselines x' ~ D:

    φ_{b,n,w,f} = E_{x' ~ D, α ~ U(0, 1)} [(x − x')_{n,w,f} · ∂f_b(x' + α(x − x')) / ∂x_{n,w,f}]

estimated from ``nsamples`` draws of (x', α) per window. They are the Aumann–Shapley
values of f_b against D: Σ φ_b → f_b(x) − E_D[f_b(x')] as the draws grow (the gap of
the finite estimate is returned as ``delta``), and for f linear in x they are the exact
Shapley values w ⊙ (x − E_D[x']), up to the sampling error of E_D[x'].

Why ``GradientExplainer`` and not ``DeepExplainer``: DeepExplainer (DeepLIFT's rescale
rule) rewrites the backward pass of the nn.Module nonlinearities it knows (ReLU,
Sigmoid, …) and passes gradients through everything else. The forecasters' readouts go
through what it does not know: ``nn.LSTM`` (CrimeNet), GATConv's attention (a scatter
softmax in torch_geometric), functional softplus and exp in the heads, the product
(1 − π)·μ of the ZINB mean. There its attributions no longer sum to f(x) − E[f(x')] and
shap's additivity check fails. Expected gradients need only autograd, so every
differentiable module is explained alike, at the cost of Monte Carlo noise.

As with IG, the count history ``y_hist_b`` of the explained window is held fixed (not
attributed; the background supplies features only), so values say how the features
move the forecast given the observed counts, in expected incidents.

The two explanations answer different questions about static area features (constant
in time: ``pct_minority``, ``median_income_norm``, …). IG's baseline is the training
mean over all areas, so an area is credited with its departure from the city average.
A background window holds the same areas at another time, so x − x' = 0 for a static
feature and its SHAP value is exactly 0: SHAP here explains the forecast against the
same areas' own past, i.e. what the time-varying features add.

Randomness: the background windows are drawn with ``numpy.random.default_rng(seed)``;
shap draws (x', α) from NumPy's global generator, which is seeded from (seed, window)
for every window and restored afterwards. On the CPU a fixed seed gives identical values.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from scipy.stats import rankdata, spearmanr
from torch import Tensor, nn

from fase.errors import FaseInputError
from fase.explain.attributions import (
    Attribution,
    Readout,
    explained_windows,
    total_expected_count,
)
from fase.forecasters.data import ForecastData
from fase.io import write_text
from fase.report.figures import PALETTE, new_figure, save_figure, styled

BACKGROUND_WINDOWS = 16
SAMPLES = 32  # draws per window: as many network passes as IG's 32 quadrature nodes
UNIT = "mean |value| (expected incidents)"


@dataclass(frozen=True)
class ShapleyValues(Attribution):
    """SHAP values (expected gradients) of a batch of windows: an :class:`Attribution`
    whose ``values`` are SHAP values (B, N, W, F) (expected incidents) and ``delta`` the
    completeness gap Σ values_b − (f_b(x) − expected_b) (sampling error), with

    Attributes:
        expected: (B,) E_D[f_b(x')], the mean readout over the background windows.
    """

    expected: np.ndarray = field(default_factory=lambda: np.zeros(0))


class _WindowReadout(nn.Module):
    """x (S, N, W, F) → (S, 1): f(x) with the count history of one window, held fixed."""

    def __init__(self, module: nn.Module, area: int | None, positions: slice) -> None:
        super().__init__()
        self.network = module
        self.area = area
        self.positions = positions
        self.y_hist: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        assert self.y_hist is not None, "bind a window's count history first"
        y_hist = self.y_hist.expand(x.shape[0], *self.y_hist.shape[1:]).contiguous()
        expected = self.network.distribution(self.network(x.to(y_hist.dtype), y_hist)).mean
        return total_expected_count(expected, self.area, self.positions).unsqueeze(1)


def _gradient_explainer(model: nn.Module, background: Tensor, batch_size: int) -> object:
    with warnings.catch_warnings():  # shap's colormaps use an API matplotlib deprecates
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        from shap import GradientExplainer

    return GradientExplainer(model, background, batch_size=batch_size)


def shapley_values(
    module: nn.Module,
    x: Tensor,
    y_hist: Tensor,
    background: Tensor,
    *,
    area: int | None = None,
    positions: slice = slice(None),
    nsamples: int = SAMPLES,
    batch_size: int | None = None,
    seed: int = 0,
    feature_names: Sequence[str] | None = None,
) -> ShapleyValues:
    """SHAP values (expected gradients) of the expected-count readout w.r.t. the features x.

    Args:
        module: a CountNetwork module (run in eval mode).
        x: (B, N, W, F) features; y_hist: (B, N, P + W) counts (not attributed).
        background: (K, N, W, F) background features D.
        area, positions: the readout's area (None: all) and forecast positions.
        nsamples: draws of (x', α) per window; batch_size: draws per forward pass
            (None: all of them; memory ∝ batch_size · N · W).
        seed: seeds shap's draws (module docstring).
        feature_names: F names (default ``x0 … x{F−1}``).
    """
    if x.ndim != 4:
        raise FaseInputError("x", f"need features (B, N, W, F), got shape {tuple(x.shape)}")
    if background.ndim != 4 or background.shape[1:] != x.shape[1:] or len(background) == 0:
        raise FaseInputError(
            "background",
            f"need windows (K, {', '.join(map(str, x.shape[1:]))}), got {tuple(background.shape)}",
        )
    num_features = x.shape[-1]
    names = (
        list(feature_names) if feature_names is not None else [f"x{i}" for i in range(num_features)]
    )
    if len(names) != num_features:
        raise FaseInputError("feature_names", f"need {num_features} names, got {len(names)}")
    if area is not None and not 0 <= area < x.shape[1]:
        raise FaseInputError("area", f"must be in [0, {x.shape[1]}), got {area}")
    if nsamples < 1:
        raise FaseInputError("nsamples", f"must be ≥ 1, got {nsamples}")
    device = next((p.device for p in module.parameters()), torch.device("cpu"))
    x, y_hist = x.to(device), y_hist.to(device)
    background = background.to(device=device, dtype=x.dtype)
    module.eval()
    model = _WindowReadout(module, area, positions)
    model.y_hist = y_hist[:1]
    explainer = _gradient_explainer(model, background, batch_size or nsamples)
    values, readout, expected = [], [], []
    state = np.random.get_state()  # noqa: NPY002 — shap draws from the global stream
    try:
        for b in range(len(x)):
            model.y_hist = y_hist[b : b + 1]
            rseed = int(np.random.SeedSequence([seed, b]).generate_state(1)[0])
            phi = explainer.shap_values(x[b : b + 1], nsamples=nsamples, rseed=rseed)
            values.append(np.asarray(phi, dtype=np.float64).reshape(x.shape[1:]))
            with torch.no_grad():
                outputs = model(torch.cat([x[b : b + 1], background]))[:, 0]
            readout.append(float(outputs[0]))
            expected.append(float(outputs[1:].mean()))
    finally:
        np.random.set_state(state)  # noqa: NPY002 — the caller's stream, as it was
    array = np.stack(values)
    value, base = np.array(readout), np.array(expected)
    return ShapleyValues(
        values=array,
        delta=array.sum(axis=(1, 2, 3)) - (value - base),
        readout=value,
        expected=base,
        feature_names=names,
    )


def training_windows(data: ForecastData, length: int, size: int, seed: int = 0) -> np.ndarray:
    """(K, N, length, F) float32 features of K = min(size, available) distinct windows of
    ``length`` bins inside the training split, their starts drawn with ``seed``."""
    start, end = data.bounds("train")
    available = end - start - length + 1
    if available < 1 or size < 1:
        raise FaseInputError(
            "train split", f"holds no window of {length} bins (it has {end - start} bins)"
        )
    rng = np.random.default_rng(seed)
    begins = np.sort(rng.choice(available, size=min(size, available), replace=False)) + start
    return np.stack([data.x[:, b : b + length] for b in begins]).astype(np.float32)


def shap_windows(
    module: nn.Module,
    data: ForecastData,
    starts: Sequence[int],
    length: int,
    *,
    warmup: int,
    area: int | None = None,
    readout: Readout = "sum",
    background: int = BACKGROUND_WINDOWS,
    nsamples: int = SAMPLES,
    seed: int = 0,
) -> ShapleyValues:
    """SHAP values of the forecasts of windows [s, s + length) of ``data``, s in ``starts``,
    against ``background`` training-split windows of the same span (warm-up included).

    The windows, warm-up and readout are those of :func:`~fase.explain.explain_windows`;
    values cover every bin of the pass (W = warmup + length).
    """
    batch = explained_windows(module, data, starts, warmup, length)
    reference = torch.from_numpy(training_windows(data, warmup + length, background, seed))
    positions = slice(warmup, None) if readout == "sum" else slice(-1, None)
    return shapley_values(
        module,
        batch.x,
        batch.y_hist,
        reference,
        area=area,
        positions=positions,
        nsamples=nsamples,
        seed=seed,
        feature_names=data.feature_names,
    )


def shap_table(shapley: ShapleyValues, area_names: Sequence[str]) -> pd.DataFrame:
    """Mean |SHAP| (rows: areas named ``area_names``, columns: features), the layout of
    ``attributions.csv``."""
    return pd.DataFrame(
        shapley.by_area(),
        index=pd.Index(list(area_names), name="area"),
        columns=shapley.feature_names,
    )


def write_shap_table(shapley: ShapleyValues, area_names: Sequence[str], path: str | Path) -> Path:
    """Write :func:`shap_table` as CSV to ``path``, atomically."""
    return write_text(path, shap_table(shapley, area_names).to_csv())


@styled
def ranking_comparison(ig: np.ndarray, shap: np.ndarray, feature_names: Sequence[str]) -> Figure:
    """Paired horizontal bars of (F,) IG and SHAP importances, ordered by IG (largest at
    the top); each label carries the feature's rank under both (ties share the best
    rank), the title Spearman's ρ."""
    ig, shap = np.asarray(ig, dtype=float), np.asarray(shap, dtype=float)
    if ig.shape != (len(feature_names),) or shap.shape != ig.shape:
        raise FaseInputError(
            "importance", f"need {len(feature_names)} values each, got {ig.shape}, {shap.shape}"
        )
    ig_rank = rankdata(-ig, method="min").astype(np.int64)  # 1: the largest; ties share
    shap_rank = rankdata(-shap, method="min").astype(np.int64)
    order = np.argsort(-ig, kind="stable")[::-1]  # bottom to top: smallest IG first
    rows = np.arange(len(order))
    figure, axes = new_figure(width=6.4, height=0.42 * len(order) + 1.3)
    height = 0.4
    axes.barh(rows + height / 2, ig[order], height, color=PALETTE[0], label="Integrated Gradients")
    axes.barh(rows - height / 2, shap[order], height, color=PALETTE[1], label="SHAP")
    labels = [f"{feature_names[i]} ({ig_rank[i]} | {shap_rank[i]})" for i in order]
    axes.set_yticks(rows, labels)
    axes.set_xlabel(UNIT)
    with warnings.catch_warnings():  # constant importances: ρ undefined (NaN)
        warnings.simplefilter("ignore")
        rho = float(spearmanr(ig, shap).statistic) if len(ig) > 1 else float("nan")
    axes.set_title(f"Feature importance, rank IG | SHAP (Spearman ρ = {rho:.2f})")
    axes.grid(axis="y", visible=False)
    axes.legend(loc="lower right")
    return figure


def save_ranking_comparison(
    attribution: Attribution, shapley: ShapleyValues, out_dir: str | Path
) -> list[Path]:
    """Write ``shap_vs_ig.{png,pdf}``: :func:`ranking_comparison` of the two explanations."""
    if attribution.feature_names != shapley.feature_names:
        raise FaseInputError("shapley", "explains other features than the attribution")
    figure = ranking_comparison(
        attribution.by_feature(), shapley.by_feature(), shapley.feature_names
    )
    return save_figure(figure, Path(out_dir) / "shap_vs_ig")
