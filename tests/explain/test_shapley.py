"""SHAP values (expected gradients) against the exact Shapley values of linear readouts,
an independent estimate for a nonlinear network, seeding, and the files
``write_explanation`` adds beside the Integrated-Gradients ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from tests.forecasters.synthetic import spillover_city
from torch import Tensor, nn

from fase.config.training import TrainingConfig
from fase.errors import FaseInputError
from fase.explain import write_explanation
from fase.explain.forecaster import explain_forecaster, shap_forecaster
from fase.explain.shapley import (
    ShapleyValues,
    ranking_comparison,
    shap_table,
    shap_windows,
    shapley_values,
    training_windows,
)
from fase.forecasters.registry import ForecasterSettings, create
from fase.models.distributions import CountDistribution, Poisson
from fase.runtime import torch_seeded

B, N, W, F, K = 2, 3, 4, 5, 3


class TypedLinear(nn.Module):
    """Poisson(μ) per crime type k: μ[b, n, w, k] = x[b, n, w] · M[:, k] + 2 + a · y_prev
    (the previous bin's count, P = 1). The readout Σ_{n,w,k} μ is linear in x with weight
    M.sum(1) per feature, so its Shapley values against a background D are
    (x − E_D[x']) · M.sum(1) exactly. ``types=False``: one output, μ (B, N, W)."""

    history_steps = 1

    def __init__(self, weights: Tensor, count_weight: float = 0.7, types: bool = True) -> None:
        super().__init__()
        self.weights = nn.Parameter(weights if types else weights.sum(1, keepdim=True))
        self.count_weight = count_weight
        self.types = types

    def forward(self, x: Tensor, y_hist: Tensor) -> dict[str, Tensor]:
        mu = x @ self.weights + 2.0 + self.count_weight * y_hist[..., :-1, None]
        return {"mu": mu if self.types else mu.squeeze(-1)}

    def distribution(self, params: dict[str, Tensor]) -> CountDistribution:
        return Poisson(params["mu"])


class TinyMLP(nn.Module):
    """Poisson(μ), μ = softplus(MLP(x)) mixed over the window's bins by a fixed matrix:
    nonlinear, with interactions across features and bins."""

    history_steps = 1

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.net = nn.Sequential(nn.Linear(F, 8), nn.Tanh(), nn.Linear(8, 1))
        self.mix = nn.Parameter(torch.rand(W, W) / W)

    def forward(self, x: Tensor, y_hist: Tensor) -> dict[str, Tensor]:
        eta = self.net(x).squeeze(-1) @ self.mix + 0.3 * y_hist[..., 1:]
        return {"mu": nn.functional.softplus(eta)}

    def distribution(self, params: dict[str, Tensor]) -> CountDistribution:
        return Poisson(params["mu"])


def inputs(seed: int = 0, shift: float = 3.0) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """x (B, N, W, F), y_hist (B, N, W + 1), a background of 8 windows around ``shift``
    (small spread: little sampling error in E_D[x']), weights (F, K)."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(B, N, W, F, generator=generator)
    y_hist = torch.poisson(torch.full((B, N, W + 1), 1.5), generator)
    background = shift + 0.05 * torch.randn(8, N, W, F, generator=generator)
    weights = torch.randn(F, K, generator=generator)
    return x, y_hist, background, weights


@pytest.mark.parametrize("types", [True, False])
def test_linear_readout_gives_the_exact_shapley_values(types: bool) -> None:
    x, y_hist, background, weights = inputs()
    model = TypedLinear(weights, types=types)
    result = shapley_values(model, x, y_hist, background, nsamples=400)
    exact = (x - background.mean(dim=0)) * weights.sum(dim=1)
    assert result.values.shape == (B, N, W, F)
    np.testing.assert_allclose(result.values, exact.numpy(), atol=0.02)
    # against zero (the IG default), the values would be off by ≈ 3 · |M.sum(1)|
    assert np.abs(result.values - (x * weights.sum(dim=1)).numpy()).max() > 1.0
    # readout and base value: f(x) and the mean readout over D (y_hist held at the window's)
    mu = model(x, y_hist)["mu"]
    f_x = mu.sum(dim=tuple(range(1, mu.ndim)))
    f_d = [model(background, y_hist[b : b + 1].expand(8, -1, -1))["mu"].sum() / 8 for b in range(B)]
    np.testing.assert_allclose(result.readout, f_x.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(result.expected, torch.stack(f_d).detach().numpy(), rtol=1e-5)
    # completeness: Σ φ_b = f_b(x) − E_D[f_b(x')] up to the sampling error of E_D[x']
    np.testing.assert_allclose(result.delta, 0.0, atol=0.2)
    np.testing.assert_allclose(
        result.values.sum(axis=(1, 2, 3)), result.readout - result.expected, atol=0.2
    )


def test_area_and_position_select_the_readout() -> None:
    x, y_hist, background, weights = inputs(1)
    model = TypedLinear(weights)
    result = shapley_values(
        model, x, y_hist, background, area=1, positions=slice(-1, None), nsamples=200
    )
    exact = np.zeros((B, N, W, F))
    exact[:, 1, -1] = ((x[:, 1, -1] - background[:, 1, -1].mean(dim=0)) * weights.sum(1)).numpy()
    np.testing.assert_allclose(result.values, exact, atol=0.02)
    assert np.abs(result.values[:, [0, 2]]).max() == 0.0  # other areas: no gradient at all
    assert np.abs(result.values[:, :, :-1]).max() == 0.0


def test_mlp_values_are_complete_and_match_averaged_integrated_gradients() -> None:
    x, y_hist, background, _ = inputs(2, shift=1.5)
    spread = torch.randn(background.shape, generator=torch.Generator().manual_seed(9))
    background = background + 0.5 * spread  # windows that differ: sampling D matters
    model = TinyMLP()
    result = shapley_values(model, x, y_hist, background, nsamples=3000)
    # completeness: Σ φ_b ≈ f_b(x) − E_D[f_b(x')] within the Monte Carlo error
    f_x = model(x, y_hist)["mu"].sum(dim=(1, 2)).detach().numpy()
    f_d = np.array(
        [
            model(background, y_hist[b : b + 1].expand(8, -1, -1))["mu"].sum().item() / 8
            for b in range(B)
        ]
    )
    gap = f_x - f_d
    assert np.abs(gap).min() > 0.5  # a non-trivial difference to explain
    np.testing.assert_allclose(result.values.sum(axis=(1, 2, 3)), gap, atol=0.03)  # ≈ 10σ
    np.testing.assert_allclose(result.delta, 0.0, atol=0.03)
    np.testing.assert_allclose(result.readout, f_x, rtol=1e-5)
    np.testing.assert_allclose(result.expected, f_d, rtol=1e-5)
    # the limit of expected gradients: IG from each background window, averaged over D
    # (midpoint rule, 400 nodes, gradients by torch.autograd directly)
    reference = torch.zeros_like(x)
    alphas = (torch.arange(400) + 0.5) / 400
    for b in range(B):
        for row in background:
            path = (row + alphas[:, None, None, None] * (x[b] - row)).requires_grad_(True)
            history = y_hist[b : b + 1].expand(len(alphas), -1, -1)
            (gradient,) = torch.autograd.grad(model(path, history)["mu"].sum(), path)
            reference[b] += (x[b] - row) * gradient.mean(dim=0) / len(background)
    scale = np.abs(reference.numpy()).max()
    np.testing.assert_allclose(result.values, reference.numpy(), atol=0.04 * scale)  # ≈ 7σ


def test_the_same_seed_gives_identical_values() -> None:
    x, y_hist, background, _ = inputs(3, shift=0.0)
    model = TinyMLP(1)
    np.random.seed(123)  # noqa: NPY002 — shap draws from NumPy's global stream
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    first = shapley_values(model, x, y_hist, background, nsamples=16, seed=5)
    after = np.random.get_state()[1]  # noqa: NPY002
    assert np.array_equal(after, before)  # the global stream is restored
    second = shapley_values(model, x, y_hist, background, nsamples=16, seed=5)
    other = shapley_values(model, x, y_hist, background, nsamples=16, seed=6)
    np.testing.assert_array_equal(first.values, second.values)
    np.testing.assert_array_equal(first.delta, second.delta)
    assert not np.array_equal(first.values, other.values)


def test_background_windows_are_seeded_training_windows() -> None:
    data = spillover_city(n=4, steps=300, seed=3)
    windows = training_windows(data, length=8, size=5, seed=1)
    assert windows.shape == (5, 4, 8, data.num_features) and windows.dtype == np.float32
    train_end = data.bounds("train")[1]
    starts = [
        next(s for s in range(train_end - 7) if np.array_equal(data.x[:, s : s + 8], w))
        for w in windows
    ]
    assert len(set(starts)) == 5 and max(starts) + 8 <= train_end
    np.testing.assert_array_equal(windows, training_windows(data, length=8, size=5, seed=1))
    assert not np.array_equal(windows, training_windows(data, length=8, size=5, seed=2))
    with pytest.raises(FaseInputError, match="no window"):
        training_windows(data, length=train_end + 1, size=5)


def test_shap_windows_explain_the_forecast_bins_against_training_windows() -> None:
    data = spillover_city(n=4, steps=300, seed=3)
    weights = torch.linspace(-1, 1, data.num_features)[:, None].repeat(1, 2)
    model = TypedLinear(weights, count_weight=0.5)
    result = shap_windows(
        model, data, starts=[250, 260], length=6, warmup=2, nsamples=8, background=4, seed=0
    )
    assert result.values.shape == (2, 4, 8, data.num_features)
    assert result.feature_names == data.feature_names
    # memoryless model: warm-up features get nothing; the sum covers the 6 forecast bins
    assert np.abs(result.values[:, :, :2]).max() == 0.0
    reference = torch.from_numpy(training_windows(data, 8, 4, seed=0)).mean(dim=0)
    window = torch.from_numpy(data.x[:, 258:266])
    exact = (window - reference) * weights.sum(1)
    exact[:, :2] = 0.0
    # E_D[x'] from 8 draws of 4 windows: loose, but the window's own features dominate
    assert np.corrcoef(result.values[1].ravel(), exact.numpy().ravel())[0, 1] > 0.9


def test_aggregates_and_table_by_hand() -> None:
    values = np.zeros((2, 2, 1, 3))
    values[0, 0, 0] = [1.0, -2.0, 0.0]
    values[1, 1, 0] = [-3.0, 0.0, 4.0]
    result = ShapleyValues(values, np.zeros(2), np.zeros(2), ["a", "b", "c"], np.zeros(2))
    np.testing.assert_allclose(result.by_feature(), [1.0, 0.5, 1.0])
    table = shap_table(result, ["Loop", "Austin"])
    assert table.index.name == "area" and list(table.index) == ["Loop", "Austin"]
    assert list(table.columns) == ["a", "b", "c"]
    np.testing.assert_allclose(table.to_numpy(), [[0.5, 1.0, 0.0], [1.5, 0.0, 2.0]])


def test_ranking_figure_pairs_the_bars_in_the_ig_order() -> None:
    names = ["lag_1", "sin_tod", "patrol_exposure"]
    figure = ranking_comparison(np.array([0.2, 0.05, 0.9]), np.array([0.3, 0.4, 0.1]), names)
    axes = figure.axes[0]
    widths = [bar.get_width() for bar in axes.patches]
    assert widths == [0.05, 0.2, 0.9, 0.4, 0.3, 0.1]  # IG bars then SHAP bars, bottom to top
    assert [label.get_text() for label in axes.get_yticklabels()] == [
        "sin_tod (3 | 1)",
        "lag_1 (2 | 2)",
        "patrol_exposure (1 | 3)",
    ]
    assert "ρ = -1.00" in axes.get_title()  # ranks (2, 3, 1) against (2, 1, 3)
    tied = ranking_comparison(np.array([0.2, 0.05, 0.9]), np.array([0.0, 0.4, 0.0]), names)
    assert [label.get_text() for label in tied.axes[0].get_yticklabels()] == [
        "sin_tod (3 | 1)",
        "lag_1 (2 | 2)",
        "patrol_exposure (1 | 2)",  # both zero: the best rank of the tie
    ]
    with pytest.raises(FaseInputError, match="values"):
        ranking_comparison(np.ones(3), np.ones(2), names)


@pytest.mark.parametrize("name", ["dnn", "crimenet", "gat_tcn", "fase_default"])
def test_write_explanation_adds_shap_beside_the_attributions(name: str, tmp_path: Path) -> None:
    torch.set_num_threads(1)
    data = spillover_city(n=4, steps=300, seed=3)
    training = TrainingConfig(window=16, stride=8, batch_size=8, epochs=1, threads=1)
    model = create(name, ForecasterSettings(training, quick=True))
    with torch_seeded(0):  # untrained weights: the files, not the fit, are under test
        model.adopt(model.build_module(data))
    out = tmp_path / name
    write_explanation(model, data, out)
    attributions = pd.read_csv(out / "attributions.csv", index_col="area")
    shap = pd.read_csv(out / "shap.csv", index_col="area")
    assert list(shap.columns) == list(attributions.columns) == data.feature_names
    assert list(shap.index) == list(attributions.index)
    assert (shap.to_numpy() >= 0).all() and shap.to_numpy().sum() > 0
    # static area features: every background window holds the same areas, so x − x' = 0
    assert (shap[["pct_minority", "median_income_norm"]].to_numpy() == 0).all()
    for stem in ("attribution_features", "attribution_areas", "shap_vs_ig"):
        assert (out / f"{stem}.png").is_file() and (out / f"{stem}.pdf").is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files
    # the file holds the seeded values, and the IG outputs are those of explain_forecaster
    again = shap_table(shap_forecaster(model, data), data.graph.node_ids)
    np.testing.assert_allclose(shap.to_numpy(), again.to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(
        attributions.to_numpy(), explain_forecaster(model, data).by_area(), rtol=1e-6
    )
