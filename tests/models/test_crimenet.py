"""The study's CrimeNet LSTM: parameters, input layout, causality, use of past counts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fase.models import CrimeNetLSTM, crimenet_history_steps

B, N, W, F, P = 2, 3, 6, 4, 3


def _inputs(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(B, N, W, F, generator=gen)
    y_hist = torch.poisson(torch.full((B, N, P + W), 1.5), generator=gen)
    return x, y_hist


@pytest.fixture
def module() -> CrimeNetLSTM:
    torch.manual_seed(0)
    return CrimeNetLSTM(F, history_steps=P, hidden=8).eval()


def test_history_steps_four_weeks_capped_at_a_week_of_hours() -> None:
    assert crimenet_history_steps(1) == 28  # the study's four weeks at daily bins
    assert crimenet_history_steps(24) == 168


def test_parameter_count_is_the_study_lstm() -> None:
    h, inputs = 128, 13 + 2
    expected = 4 * h * (inputs + h) + 8 * h + h + 1
    assert expected == 74_369
    assert sum(p.numel() for p in CrimeNetLSTM(13, 24).parameters()) == expected


def test_inputs_zero_features_and_flag_over_the_history(module: CrimeNetLSTM) -> None:
    x, y_hist = _inputs(1)
    u = module.inputs(x, y_hist)
    assert u.shape == (B, N, P + W, F + 2)
    assert torch.equal(u[:, :, :P, :F], torch.zeros(B, N, P, F))
    assert torch.equal(u[:, :, P:, :F], x)
    np.testing.assert_allclose(u[..., 1:, F].numpy(), np.log1p(y_hist[..., :-1].numpy()), 1e-6)
    assert torch.equal(u[..., 0, F], torch.zeros(B, N))
    assert u[..., F + 1].tolist() == [[[0.0] * P + [1.0] * W] * N] * B


def test_each_area_is_its_own_sequence(module: CrimeNetLSTM) -> None:
    """The time-major batching equals running the LSTM on one area's sequence alone."""
    x, y_hist = _inputs(2)
    mu = module(x, y_hist)["mu"]
    u = module.inputs(x, y_hist)
    for b, n in [(0, 0), (1, 2), (0, 1)]:
        states, _ = module.lstm(u[b, n].unsqueeze(1))  # (P + W, 1, H)
        alone = torch.nn.functional.softplus(module.head.linear(states[P:, 0]).squeeze(-1)) + 1e-6
        torch.testing.assert_close(mu[b, n], alone)


def test_causal_and_one_step_ahead(module: CrimeNetLSTM) -> None:
    """Output at window position t ignores y at t and x after t; y at t moves t + 1."""
    x, y_hist = _inputs(3)
    base = module(x, y_hist)["mu"]
    t = 2
    y2, x2 = y_hist.clone(), x.clone()
    y2[..., P + t :] += 3.0  # the counts of bins t, t + 1, … of the window
    x2[:, :, t + 1 :] += 1.0
    out = module(x2, y2)["mu"]
    torch.testing.assert_close(out[..., : t + 1], base[..., : t + 1], rtol=0, atol=0)
    y3 = y_hist.clone()
    y3[0, 1, P + t] += 3.0
    moved = module(x, y3)["mu"] != base
    assert moved[0, 1, t + 1 :].all()
    assert not moved[0, 1, : t + 1].any()
    assert not moved[1].any() and not moved[0, [0, 2]].any()  # no other area


def test_reads_the_counts_before_the_window(module: CrimeNetLSTM) -> None:
    x, y_hist = _inputs(4)
    y2 = y_hist.clone()
    y2[..., 0] += 4.0
    assert (module(x, y2)["mu"] != module(x, y_hist)["mu"]).all()


def test_rejects_a_history_of_the_wrong_length(module: CrimeNetLSTM) -> None:
    x, y_hist = _inputs(5)
    with pytest.raises(ValueError, match="y_hist"):
        module(x, y_hist[..., 1:])
    with pytest.raises(ValueError, match="history_steps"):
        CrimeNetLSTM(F, history_steps=0)
