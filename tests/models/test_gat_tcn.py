"""The study's GAT + TCN module: graph batching, parameters, receptive field, causality
in time and in space (only neighbours' past counts reach a node)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fase.models import GATTCN, attention_edges, disjoint_union
from fase.training.forecast import forecast_span
from fase.training.windows import CountSeries

F = 5


def path_graph(n: int) -> np.ndarray:
    """0 – 1 – 2 – … – n−1: each area borders the next."""
    a = np.zeros((n, n))
    for u in range(n - 1):
        a[u, u + 1] = a[u + 1, u] = 1.0
    return a


def _module(n: int = 4, channels: int = 8, heads: int = 2, seed: int = 0) -> GATTCN:
    torch.manual_seed(seed)
    return GATTCN(F, attention_edges(path_graph(n)), n, channels, heads, distribution="nb").eval()


def _inputs(b: int, n: int, w: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(b, n, w, F, generator=gen)
    return x, torch.poisson(torch.full((b, n, 1 + w), 1.0), generator=gen)


def test_attention_edges_are_the_adjacency_plus_self_loops() -> None:
    a = np.array([[0, 1, 0], [0, 0, 0], [0, 2.5, 0]])  # 0 reads 1, 2 reads 1 (directed)
    edges = {tuple(e) for e in attention_edges(a).T.tolist()}
    assert edges == {(1, 0), (1, 2), (0, 0), (1, 1), (2, 2)}  # (source j, target i)


def test_disjoint_union_offsets_each_copy() -> None:
    edges = torch.tensor([[0, 1], [1, 2]])
    assert disjoint_union(edges, 3, 3).tolist() == [[0, 1, 3, 4, 6, 7], [1, 2, 4, 5, 7, 8]]


def test_parameter_count() -> None:
    c, k, f = 64, 4, 13
    expected = (f + 1) * c + c + k * (4 * c * c + 2 * c) + (c * c + 3 * c) + (c * c + c + 2 * c + 2)
    assert expected == 75_586
    module = GATTCN(f, attention_edges(path_graph(77)), 77, distribution="nb")
    assert sum(p.numel() for p in module.parameters()) == expected
    study = GATTCN(f, attention_edges(path_graph(77)), 77)  # the mean alone: one head less
    assert sum(p.numel() for p in study.parameters()) == expected - (c + 1)


def test_attention_comes_before_the_temporal_convolutions() -> None:
    """ŷ = f_TCN(f_GAT(X)): the forward pass is the formula of the module docstring."""
    module = _module(n=5)
    x, y_hist = _inputs(2, 5, 6, seed=7)
    h0 = module.inputs(x, y_hist)
    h = h0 + module.attend(h0)
    for block in module.temporal:
        h = h + block(h)
    by_hand = module.head(h)
    out = module(x, y_hist)
    for name in ("mu", "theta"):
        torch.testing.assert_close(out[name], by_hand[name])


def test_batched_attention_equals_one_graph_at_a_time() -> None:
    module = _module(n=5)
    h = torch.randn(3, 5, 4, 8, generator=torch.Generator().manual_seed(1))
    batched = module.attend(h)
    for b in range(3):
        for t in range(4):
            alone = module.spatial(h[b, :, t], module.edge_index)
            torch.testing.assert_close(batched[b, :, t], alone)


def test_causal_in_time() -> None:
    """Outputs at t ignore the counts of bins t, t + 1, … and the features after t."""
    module = _module()
    x, y_hist = _inputs(2, 4, 8, seed=2)
    base = module(x, y_hist)
    t = 3
    x2, y2 = x.clone(), y_hist.clone()
    x2[:, :, t + 1 :] += 2.0
    y2[..., t + 1 :] += 5.0  # y_hist[..., s + 1] is the count of window bin s
    out = module(x2, y2)
    for name in ("mu", "theta"):
        torch.testing.assert_close(
            out[name][..., : t + 1], base[name][..., : t + 1], rtol=0, atol=0
        )
        assert (out[name][..., t + 1 :] != base[name][..., t + 1 :]).all()


def test_a_neighbours_count_reaches_the_next_bin_a_non_neighbours_never() -> None:
    module = _module(n=4)  # path 0 – 1 – 2 – 3
    x, y_hist = _inputs(1, 4, 8, seed=3)
    base = module(x, y_hist)["mu"][0]
    t = 3

    def moved_by_count_of(area: int) -> torch.Tensor:
        y2 = y_hist.clone()
        y2[0, area, t + 1] += 5.0  # area's count at window bin t
        return module(x, y2)["mu"][0] != base

    neighbour = moved_by_count_of(1)
    assert neighbour[0, t + 1 :].all() and not neighbour[0, : t + 1].any()
    two_hops = moved_by_count_of(2)
    assert not two_hops[0].any()  # area 2 is not a neighbour of area 0
    assert two_hops[1, t + 1 :].all()
    x2 = x.clone()
    x2[0, 3] += 1.0  # features of area 3, two hops from 1 and three from 0
    moved = module(x2, y_hist)["mu"][0] != base
    assert not moved[:2].any() and moved[2:].all()


def test_receptive_field_is_sixteen_bins() -> None:
    module = _module(n=2)
    assert module.receptive_field == 16
    x, y_hist = _inputs(1, 2, 20, seed=4)
    base = module(x, y_hist)["mu"]
    for lag, reaches in ((15, True), (16, False)):
        x2 = x.clone()
        x2[0, 0, 19 - lag] += 1.0
        assert bool(module(x2, y_hist)["mu"][0, 0, 19] != base[0, 0, 19]) is reaches


def test_forecast_with_warmup_r_minus_one_is_exact() -> None:
    n, steps = 4, 90
    gen = torch.Generator().manual_seed(5)
    series = CountSeries(
        torch.randn(n, steps, F, generator=gen),
        torch.poisson(torch.full((n, steps), 1.0), generator=gen),
        history_steps=1,
    )
    module = _module(n=n)
    whole = forecast_span(module, series, 40, 90, warmup=40)
    chunked = forecast_span(module, series, 40, 90, warmup=15, chunk_steps=7)
    for name in ("mu", "theta"):
        np.testing.assert_allclose(chunked.params[name], whole.params[name], rtol=1e-5)


def test_negative_binomial_output() -> None:
    module = _module()
    x, y_hist = _inputs(1, 4, 3, seed=6)
    params = module(x, y_hist)
    assert set(params) == {"mu", "theta"}
    assert all(bool((v > 0).all()) for v in params.values())
    dist = module.distribution(params)
    torch.testing.assert_close(dist.variance, params["mu"] + params["mu"] ** 2 / params["theta"])


def test_rejects_inconsistent_shapes() -> None:
    with pytest.raises(ValueError, match="divisible"):
        GATTCN(F, attention_edges(path_graph(3)), 3, channels=10, heads=4)
    with pytest.raises(ValueError, match="num_nodes"):
        GATTCN(F, attention_edges(path_graph(5)), 3)
    module = _module(n=4)
    x, y_hist = _inputs(1, 4, 5, seed=7)
    with pytest.raises(ValueError, match="y_hist"):
        module(x, y_hist[..., 1:])
    with pytest.raises(ValueError, match="nodes"):
        module(x[:, :3], y_hist[:, :3])
