"""The FASE predictor: parameter count, causality in both history modes, heads, gradients."""

from __future__ import annotations

import pytest
import torch

from fase.config.model import ModelConfig
from fase.models.distributions import NegativeBinomial, Poisson, ZeroInflatedNegativeBinomial
from fase.models.fase import FASEModel

H = 168  # 7 days of hourly bins
GEN = torch.Generator().manual_seed(0)


def build(graph, config: ModelConfig | None = None, **fields: object) -> FASEModel:
    adjacency, a_geo = graph
    config = config or ModelConfig(**fields)
    return FASEModel.from_graph(adjacency, a_geo, config, num_features=13, hawkes_window_bins=H)


def inputs(model: FASEModel, batch: int = 2, steps: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(batch, 25, steps, 13, generator=GEN)
    y_hist = torch.poisson(torch.full((batch, 25, model.history_steps + steps), 0.6), generator=GEN)
    return x, y_hist


def test_paper_model_has_108309_parameters(graph, paper_config) -> None:
    model = build(graph, paper_config)
    assert sum(p.numel() for p in model.parameters()) == 108_309
    # STGNN 106,464 + Hawkes 625 + 1 + projection 64 + head 1,056 + 3 × 33
    assert sum(p.numel() for p in model.hawkes.parameters()) == 626
    assert sum(p.numel() for p in model.head.parameters()) == 1_155
    assert torch.equal(model.hawkes.mask, graph[1])  # neighbours only, no self-excitation


def test_default_model_adds_self_excitation_and_carries_history(graph, paper_config) -> None:
    model = build(graph)
    assert sum(p.numel() for p in model.parameters()) == 108_309
    assert torch.equal(model.hawkes.mask, graph[1] + torch.eye(25))
    assert model.history_steps == H and build(graph, paper_config).history_steps == 0


@pytest.mark.parametrize("history", ["carry", "restart"])
def test_changing_y_at_t_changes_no_prediction_at_or_before_t(graph, history: str) -> None:
    model = build(graph, hawkes_history=history, hawkes_self_excitation=False).eval()
    x, y_hist = inputs(model)
    t = 10  # window position
    changed = y_hist.clone()
    changed[:, :, model.history_steps + t] += 3.0
    with torch.no_grad():
        before, after = model(x, y_hist), model(x, changed)
    for name in ("mu", "theta", "pi"):
        assert torch.equal(before[name][..., : t + 1], after[name][..., : t + 1])
        assert not torch.allclose(before[name][..., t + 1], after[name][..., t + 1])


def test_changing_x_at_t_changes_no_prediction_before_t(graph) -> None:
    model = build(graph).eval()
    x, y_hist = inputs(model)
    changed = x.clone()
    changed[:, :, 12] += 1.0
    with torch.no_grad():
        before, after = model(x, y_hist)["mu"], model(changed, y_hist)["mu"]
    assert torch.equal(before[..., :12], after[..., :12])
    assert not torch.allclose(before[..., 12], after[..., 12])


def test_history_before_the_window_is_used_only_in_carry_mode(graph) -> None:
    for history, should_change in (("carry", True), ("restart", False)):
        model = build(graph, hawkes_history=history).eval()
        x, y_hist = inputs(model)
        y_hist = torch.cat([torch.zeros(2, 25, H), y_hist[..., model.history_steps :]], dim=-1)
        busy = y_hist.clone()
        busy[..., :H] = 2.0  # a busy week before the window
        with torch.no_grad():
            changed = not torch.equal(model(x, y_hist)["mu"][..., 0], model(x, busy)["mu"][..., 0])
        assert changed == should_change


@pytest.mark.parametrize(
    ("name", "cls", "heads"),
    [
        ("zinb", ZeroInflatedNegativeBinomial, {"mu", "theta", "pi"}),
        ("nb", NegativeBinomial, {"mu", "theta"}),
        ("poisson", Poisson, {"mu"}),
    ],
)
def test_heads_follow_the_distribution(graph, name: str, cls: type, heads: set[str]) -> None:
    model = build(graph, distribution=name)
    x, y_hist = inputs(model)
    out = model(x, y_hist)
    assert set(out) == heads and all(v.shape == (2, 25, 32) for v in out.values())
    assert bool((out["mu"] > 0).all())
    if "pi" in out:
        assert bool(((out["pi"] > 0) & (out["pi"] < 1)).all())
    assert type(model.distribution(out)) is cls


def test_loss_gradients_reach_alpha_and_beta(graph, paper_config) -> None:
    model = build(graph, paper_config)
    x, y_hist = inputs(model)
    loss = model.distribution(model(x, y_hist)).nll(y_hist[..., model.history_steps :])
    loss.backward()
    alpha_grad, beta_grad = model.hawkes.alpha_raw.grad, model.hawkes.beta_raw.grad
    assert alpha_grad is not None and beta_grad is not None
    assert alpha_grad[graph[1] == 1].abs().min() > 0 and beta_grad.abs() > 0
    assert bool((alpha_grad[graph[1] == 0] == 0).all())  # masked entries get no signal


def test_shape_errors(graph) -> None:
    adjacency, a_geo = graph
    with pytest.raises(ValueError, match="hawkes_mask"):
        FASEModel(
            25, adjacency, a_geo[:5, :5], ModelConfig(), num_features=13, hawkes_window_bins=H
        )
    model = build(graph)
    x, y_hist = inputs(model)
    with pytest.raises(ValueError, match="y_hist"):
        model(x, y_hist[..., :20])


def test_head_applies_each_parameter_linear_and_link(graph, paper_config) -> None:
    head = build(graph, paper_config).head
    h = torch.randn(2, 25, 7, 32, generator=GEN)
    out = head(h)
    shared = head.shared(h)
    links = {"mu": torch.nn.functional.softplus, "theta": torch.nn.functional.softplus}
    for name, layer in head.heads.items():
        expected = links.get(name, torch.sigmoid)(layer(shared).squeeze(-1))
        torch.testing.assert_close(out[name], expected, rtol=1e-6, atol=1e-7)


def test_without_hawkes_the_counts_do_not_enter() -> None:
    """The "STGNN without Hawkes" ablation: no excitation parameters, no history, and
    the output ignores y_hist entirely (the features carry the past)."""
    torch.manual_seed(0)
    n = 4
    adjacency = torch.eye(n)
    full = FASEModel.from_graph(
        adjacency, torch.zeros(n, n), ModelConfig(), num_features=3, hawkes_window_bins=8
    )
    ablated = FASEModel.from_graph(
        adjacency,
        torch.zeros(n, n),
        ModelConfig(hawkes=False),
        num_features=3,
        hawkes_window_bins=8,
    )
    hawkes_parameters = sum(p.numel() for p in full.hawkes.parameters()) + sum(
        p.numel() for p in full.hawkes_proj.parameters()
    )
    assert ablated.history_steps == 0
    assert (
        sum(p.numel() for p in ablated.parameters())
        == sum(p.numel() for p in full.parameters()) - hawkes_parameters
    )
    ablated.eval()
    x = torch.randn(1, n, 6, 3)
    a = ablated(x, torch.zeros(1, n, 6))["mu"]
    b = ablated(x, torch.full((1, n, 6), 5.0))["mu"]
    torch.testing.assert_close(a, b, rtol=0, atol=0)
