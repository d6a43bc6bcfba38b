"""The study's DNN module: parameter count, per-position MLP, Poisson scoring."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import poisson

from fase.models import FeatureMLP
from fase.models.heads import MEAN_FLOOR

B, N, W, F = 2, 3, 5, 13


def test_parameter_count_is_the_study_mlp() -> None:
    expected = 13 * 128 + 128 + 128 * 128 + 128 + 128 * 128 + 128 + 128 + 1
    assert expected == 34_945
    assert sum(p.numel() for p in FeatureMLP(13).parameters()) == expected
    assert sum(p.numel() for p in FeatureMLP(4, hidden=6, layers=2).parameters()) == (
        4 * 6 + 6 + 6 * 6 + 6 + 6 + 1
    )


def test_output_is_softplus_of_the_relu_mlp_computed_by_hand() -> None:
    torch.manual_seed(0)
    module = FeatureMLP(F, hidden=8, layers=3, dropout=0.5).eval()
    x = torch.randn(B, N, W, F)
    mu = module(x, torch.zeros(B, N, W))["mu"].detach().numpy()

    h = x.numpy().astype(np.float64)
    linears = [m for m in module.hidden if isinstance(m, torch.nn.Linear)]
    for linear in linears:
        h = np.maximum(h @ linear.weight.detach().numpy().T + linear.bias.detach().numpy(), 0)
    linear = module.output.linear
    raw = h @ linear.weight.detach().numpy().T + linear.bias.detach().numpy()
    expected = np.log1p(np.exp(raw[..., 0])) + MEAN_FLOOR
    np.testing.assert_allclose(mu, expected, rtol=1e-5)


def test_ignores_the_count_history_and_other_positions() -> None:
    torch.manual_seed(1)
    module = FeatureMLP(F, hidden=16).eval()
    x = torch.randn(B, N, W, F)
    base = module(x, torch.zeros(B, N, W))["mu"]
    assert torch.equal(module(x, torch.full((B, N, W), 7.0))["mu"], base)
    x2 = x.clone()
    x2[1, 2, 3] += 1.0
    changed = module(x2, torch.zeros(B, N, W))["mu"] != base
    assert changed[1, 2, 3]
    assert int(changed.sum()) == 1  # one (area, bin) in, one out


def test_dropout_only_in_training_mode() -> None:
    torch.manual_seed(2)
    module = FeatureMLP(F, hidden=32, dropout=0.5)
    x = torch.randn(B, N, W, F)
    y = torch.zeros(B, N, W)
    assert not torch.equal(module(x, y)["mu"], module(x, y)["mu"])
    module.eval()
    assert torch.equal(module(x, y)["mu"], module(x, y)["mu"])


def test_scored_with_a_poisson_around_its_mean() -> None:
    mu = torch.tensor([[0.2, 1.5], [3.0, 1e-6]], dtype=torch.float64)
    y = torch.tensor([[0.0, 2.0], [5.0, 0.0]], dtype=torch.float64)
    log_prob = FeatureMLP(F).distribution({"mu": mu}).log_prob(y).numpy()
    np.testing.assert_allclose(log_prob, poisson.logpmf(y.numpy(), mu.numpy()), rtol=1e-12)


def test_rejects_an_mlp_without_hidden_layers() -> None:
    with pytest.raises(ValueError, match="hidden layer"):
        FeatureMLP(F, layers=0)


def test_per_type_outputs_and_level_logits() -> None:
    """K outputs give K means per cell; the thresholds give five logits whose law scores
    a count by its level (cross-entropy)."""
    torch.manual_seed(3)
    x = torch.randn(B, N, W, F)
    per_type = FeatureMLP(F, hidden=8, outputs=3).eval()(x, torch.zeros(B, N, W))
    assert per_type["mu"].shape == (B, N, W, 3) and bool((per_type["mu"] > 0).all())
    classifier = FeatureMLP(F, hidden=8, level_thresholds=[1, 2, 4, 7]).eval()
    logits = classifier(x, torch.zeros(B, N, W))["logits"]
    assert logits.shape == (B, N, W, 5)
    law = classifier.distribution({"logits": logits})
    counts = torch.tensor([0.0, 1.0, 3.0, 6.0, 9.0]).reshape(5, 1, 1, 1)
    levels = [0, 1, 2, 3, 4]  # level − 1 of each count
    expected = torch.log_softmax(logits, -1)[..., levels].permute(3, 0, 1, 2)
    torch.testing.assert_close(law.log_prob(counts), expected)
