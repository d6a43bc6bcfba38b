"""A network behind the forecaster interface, as the feedback simulator and the service
use it: forecasts of a request equal one full-sequence forward pass; retraining is
reproducible by seed and leaves the caller's RNG alone; clones are copies."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fase.config.model import ModelConfig
from fase.config.training import TrainingConfig
from fase.forecasters import ForecastRequest, TrainingRequest
from fase.forecasters.fase import FASEForecaster
from fase.models.fase import FASEModel
from fase.simulation.deployment import PeriodForecast

N, T, F = 5, 90, 13


def tiny_model(history: str) -> FASEModel:
    torch.manual_seed(0)
    config = ModelConfig(
        channels=4,
        embedding_dim=4,
        blocks=2,
        dilations=(1, 2),
        head_hidden=4,
        hawkes_history=history,
    )
    adjacency = torch.rand(N, N)
    a_geo = (torch.rand(N, N) > 0.5).float()
    a_geo = ((a_geo + a_geo.T) > 0).float().fill_diagonal_(0)
    return FASEModel.from_graph(adjacency, a_geo, config, num_features=F, hawkes_window_bins=6)


def data(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(N, T, F)).astype(np.float32), rng.poisson(1.0, (N, T)).astype(float)


def adapter(model: FASEModel, seed: int = 3) -> FASEForecaster:
    """FASE holding ``model``'s weights (a copy), retraining with ``seed``."""
    forecaster = FASEForecaster(model.config, TrainingConfig())
    forecaster.adopt(model)
    return forecaster.clone(seed)


@pytest.mark.parametrize("history", ["carry", "restart"])
def test_forecast_equals_a_full_sequence_pass(history):
    model = tiny_model(history)
    x, y = data()
    forecaster = adapter(model)
    start, stop = 50, 80
    first = start - forecaster.warmup_steps - forecaster.history_steps
    request = ForecastRequest(
        first, x[:, first:stop], y[:, first:stop], start, stop, forecaster.warmup_steps
    )
    span = forecaster.forecast(request)
    assert (span.start, span.end, span.distribution) == (start, stop, "zinb")
    forecast = PeriodForecast.of(span)
    model.eval()
    with torch.no_grad():
        y_hist = torch.cat([torch.zeros(N, model.history_steps), torch.as_tensor(y).float()], 1)
        params = model(torch.as_tensor(x)[None], y_hist[None])
    mu = params["mu"][0, :, start:stop].T.numpy()
    np.testing.assert_allclose(forecast.mu, mu, rtol=1e-5, atol=1e-6)
    dist = model.distribution({k: v[0, :, start:stop].T.double() for k, v in params.items()})
    np.testing.assert_allclose(forecast.expected, dist.mean.numpy(), rtol=1e-5, atol=1e-6)
    counts = y[:, start:stop].T
    np.testing.assert_allclose(
        forecast.log_prob(counts), dist.log_prob(torch.as_tensor(counts)).numpy(), rtol=1e-4
    )


def _request(x: np.ndarray, y: np.ndarray, epochs: int = 3) -> TrainingRequest:
    starts = np.array([20, 36, 52, 68])
    return TrainingRequest(
        10, x[:, 10:], y[:, 10:], starts, 16, epochs, 1, lr=1e-2, weight_decay=1e-4, grad_clip=5.0
    )


def test_retraining_is_reproducible_and_leaves_the_global_rng_alone():
    x, y = data()
    base = adapter(tiny_model("carry"))
    before = {k: v.clone() for k, v in base.module.state_dict().items()}
    a, b, c = base.clone(7), base.clone(7), base.clone(8)
    torch.manual_seed(123)
    rng_state = torch.get_rng_state()
    losses_a = a.retrain(_request(x, y))
    assert torch.equal(torch.get_rng_state(), rng_state)
    losses_b, losses_c = b.retrain(_request(x, y)), c.retrain(_request(x, y))
    assert len(losses_a) == 3 and losses_a == losses_b and losses_a != losses_c
    for name, value in a.module.state_dict().items():
        assert torch.equal(value, b.module.state_dict()[name])
        assert torch.equal(before[name], base.module.state_dict()[name])  # clones are copies
    changed = [not torch.equal(before[k], v) for k, v in a.module.state_dict().items()]
    assert any(changed)


def test_retraining_lowers_the_loss_on_its_windows():
    x, y = data()
    forecaster = adapter(tiny_model("carry"))
    losses = forecaster.retrain(_request(x, y, epochs=30))
    assert losses[-1] < losses[0]


def test_no_epochs_means_no_training():
    x, y = data()
    forecaster = adapter(tiny_model("carry"))
    assert forecaster.retrain(_request(x, y, epochs=0)) == []
