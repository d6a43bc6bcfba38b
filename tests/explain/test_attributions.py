"""Integrated Gradients against closed forms (linear readouts) and an independent quadrature."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.forecasters.synthetic import spillover_city
from tests.training.helpers import synthetic_series, tiny_model
from torch import Tensor, nn

from fase.errors import FaseInputError
from fase.explain import Attribution, explain_windows, integrated_gradients, training_baseline
from fase.models.distributions import CountDistribution, Poisson
from fase.training.windows import CountSeries

B, N, W, F = 2, 3, 4, 5


class LinearPoisson(nn.Module):
    """Poisson(μ) with μ[b, n, w] = x[b, n, w] · w + c + a · y_hist[b, n, P + w − 1]
    (the previous bin's count, P = 1): linear in x, so IG = (x − x̄) · w exactly."""

    history_steps = 1

    def __init__(self, weights: Tensor, count_weight: float = 0.0, link: str = "identity") -> None:
        super().__init__()
        self.weights = nn.Parameter(weights)
        self.count_weight = count_weight
        self.link = link

    def forward(self, x: Tensor, y_hist: Tensor) -> dict[str, Tensor]:
        eta = x @ self.weights + 2.0 + self.count_weight * y_hist[..., :-1]
        return {"mu": eta if self.link == "identity" else nn.functional.softplus(eta)}

    def distribution(self, params: dict[str, Tensor]) -> CountDistribution:
        return Poisson(params["mu"])


def inputs(seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(B, N, W, F, generator=generator, dtype=torch.float64)
    y_hist = torch.poisson(torch.full((B, N, W + 1), 1.5, dtype=torch.float64), generator)
    weights = torch.randn(F, generator=generator, dtype=torch.float64)
    return x, y_hist, weights


def test_linear_readout_gives_the_closed_form() -> None:
    x, y_hist, weights = inputs()
    model = LinearPoisson(weights, count_weight=0.7)
    baseline = torch.linspace(-0.5, 0.5, F, dtype=torch.float64)
    result = integrated_gradients(model, x, y_hist, baseline=baseline, n_steps=4)
    np.testing.assert_allclose(result.values, ((x - baseline) * weights).numpy(), atol=1e-12)
    # completeness: Σ IG_b = f_b(x) − f_b(x̄); the count term cancels (y_hist not attributed)
    f_x = model(x, y_hist)["mu"].sum(dim=(1, 2))
    f_base = model(baseline.expand_as(x), y_hist)["mu"].sum(dim=(1, 2))
    np.testing.assert_allclose(
        result.values.sum(axis=(1, 2, 3)), (f_x - f_base).detach().numpy(), atol=1e-10
    )
    np.testing.assert_allclose(result.readout, f_x.detach().numpy())
    np.testing.assert_allclose(result.delta, 0.0, atol=1e-10)


def test_area_and_position_select_the_readout() -> None:
    x, y_hist, weights = inputs(1)
    result = integrated_gradients(
        LinearPoisson(weights), x, y_hist, area=1, positions=slice(-1, None), n_steps=4
    )
    expected = np.zeros((B, N, W, F))
    expected[:, 1, -1] = (x[:, 1, -1] * weights).numpy()  # only area 1's last bin counts
    np.testing.assert_allclose(result.values, expected, atol=1e-12)


def test_aggregates_by_hand() -> None:
    values = np.zeros((2, 2, 1, 3))
    values[0, 0, 0] = [1.0, -2.0, 0.0]
    values[1, 1, 0] = [-3.0, 0.0, 4.0]
    result = Attribution(values, np.zeros(2), np.zeros(2), ["a", "b", "c"])
    np.testing.assert_allclose(result.by_feature(), [1.0, 0.5, 1.0])  # mean over 4 cells
    np.testing.assert_allclose(result.by_area(), [[0.5, 1.0, 0.0], [1.5, 0.0, 2.0]])


def test_nonlinear_readout_matches_an_independent_riemann_sum() -> None:
    x, y_hist, weights = inputs(2)
    model = LinearPoisson(weights, link="softplus")
    result = integrated_gradients(model, x, y_hist, n_steps=64)
    # midpoint rule with 4000 steps, gradients by torch.autograd directly
    alphas = (torch.arange(4000, dtype=torch.float64) + 0.5) / 4000
    total = torch.zeros_like(x)
    for alpha in alphas:
        point = (alpha * x).requires_grad_(True)
        (gradient,) = torch.autograd.grad(model(point, y_hist)["mu"].sum(), point)
        total += gradient
    reference = x * total / len(alphas)
    np.testing.assert_allclose(result.values, reference.numpy(), atol=1e-6)
    f_x = model(x, y_hist)["mu"].sum(dim=(1, 2))
    f_0 = model(torch.zeros_like(x), y_hist)["mu"].sum(dim=(1, 2))
    np.testing.assert_allclose(
        result.values.sum(axis=(1, 2, 3)), (f_x - f_0).detach().numpy(), atol=1e-8
    )


def test_explain_windows_uses_the_training_mean_as_baseline() -> None:
    data = spillover_city(n=4, steps=300, seed=3)
    weights = torch.linspace(-1, 1, data.num_features, dtype=torch.float32)
    model = LinearPoisson(weights, count_weight=0.5)
    result = explain_windows(model, data, starts=[250, 260], length=6, warmup=2, n_steps=4)
    assert result.values.shape == (2, 4, 8, data.num_features)
    assert result.feature_names == data.feature_names
    mean = training_baseline(data)
    np.testing.assert_allclose(mean, data.x[:, :210].mean(axis=(0, 1)), rtol=1e-5)
    # readout sums bins s … s + 5 (positions 2 … 7): warm-up features get no attribution
    # in this memoryless model, forecast-bin features get (x − x̄) · w
    window = data.x[:, 258:266]  # the second window's pass: bins 258 … 265
    expected = (window - mean) * weights.numpy()
    expected[:, :2] = 0.0
    np.testing.assert_allclose(result.values[1], expected, atol=1e-5)
    np.testing.assert_allclose(result.delta, 0.0, atol=1e-3)


def test_windows_must_leave_room_for_the_warmup() -> None:
    data = spillover_city(n=4, steps=300, seed=3)
    model = LinearPoisson(torch.zeros(data.num_features))
    with pytest.raises(FaseInputError, match="warm-up"):
        explain_windows(model, data, starts=[1], length=4, warmup=2)
    with pytest.raises(FaseInputError, match="area"):
        integrated_gradients(model, torch.zeros(1, 4, 2, 13), torch.zeros(1, 4, 3), area=4)


def test_fase_model_attributions_are_complete_and_causal() -> None:
    x, y = synthetic_series()
    model = tiny_model().double()
    batch = CountSeries(x, y.astype(np.float32), model.history_steps).batch(np.array([100]), 40)
    result = integrated_gradients(
        model, batch.x.double(), batch.y_hist.double(), positions=slice(29, 30), n_steps=64
    )
    # completeness up to the quadrature error (the ReLU kinks slow its convergence)
    assert abs(result.delta[0]) < 1e-3 * np.abs(result.values).sum()
    assert np.abs(result.values[:, :, 30:]).max() == 0.0  # later bins cannot move bin 29
    assert np.abs(result.values[:, :, :30]).sum() > 0
