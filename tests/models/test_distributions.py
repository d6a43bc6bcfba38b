"""Count distributions against scipy.stats: one generic suite run over ZINB, NB and Poisson.

NB parameters are drawn as (θ, p) and μ = θ(1−p)/p, so that scipy's ``nbinom(n=θ, p)``
and our (μ, θ) describe the same distribution to the last bit even when p is within
1e-14 of 1 (for p ≥ 0.5, 1 − p is exact in floating point).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from scipy import stats

from fase.models.distributions import (
    CountDistribution,
    NegativeBinomial,
    Poisson,
    ZeroInflatedNegativeBinomial,
    count_distribution,
    nb_log_prob,
    poisson_log_prob,
    zinb_log_prob,
    zinb_nll,
)

Params = dict[str, np.ndarray]


def _zinb_logpmf(y: np.ndarray, p: Params) -> np.ndarray:
    """log(π·1[y=0] + (1−π)·pmf) in log space, pmf from scipy."""
    log_keep = np.log1p(-p["pi"]) + stats.nbinom.logpmf(y, p["theta"], p["p"])
    return np.where(y == 0, np.logaddexp(np.log(p["pi"]), log_keep), log_keep)


def _zinb_moments(p: Params) -> tuple[np.ndarray, np.ndarray]:
    mean, var = stats.nbinom.stats(p["theta"], p["p"], moments="mv")
    keep = 1 - p["pi"]
    return keep * mean, keep * (var + mean**2) - (keep * mean) ** 2


def _zinb_ppf(q: np.ndarray, p: Params) -> np.ndarray:
    """F(k) = π + (1−π)·F_NB(k) ≥ q  ⟺  F_NB(k) ≥ (q − π)/(1 − π)."""
    level = np.clip((q - p["pi"]) / (1 - p["pi"]), 0.0, None)
    return np.where(q <= p["pi"], 0.0, stats.nbinom.ppf(level, p["theta"], p["p"]))


@dataclass(frozen=True)
class Case:
    name: str
    cls: type[CountDistribution]
    log_prob: Callable[..., torch.Tensor]  # the public function
    ref_logpmf: Callable[[np.ndarray, Params], np.ndarray]
    ref_moments: Callable[[Params], tuple[np.ndarray, np.ndarray]]
    ref_ppf: Callable[[np.ndarray, Params], np.ndarray]


CASES = [
    Case(
        "zinb",
        ZeroInflatedNegativeBinomial,
        zinb_log_prob,
        _zinb_logpmf,
        _zinb_moments,
        _zinb_ppf,
    ),
    Case(
        "nb",
        NegativeBinomial,
        nb_log_prob,
        lambda y, p: stats.nbinom.logpmf(y, p["theta"], p["p"]),
        lambda p: stats.nbinom.stats(p["theta"], p["p"], moments="mv"),
        lambda q, p: stats.nbinom.ppf(q, p["theta"], p["p"]),
    ),
    Case(
        "poisson",
        Poisson,
        poisson_log_prob,
        lambda y, p: stats.poisson.logpmf(y, p["mu"]),
        lambda p: stats.poisson.stats(p["mu"], moments="mv"),
        lambda q, p: stats.poisson.ppf(q, p["mu"]),
    ),
]
IDS = [case.name for case in CASES]


def nb_parameters(theta: np.ndarray, mu: np.ndarray, pi: np.ndarray) -> Params:
    """Round-trip μ through p = θ/(θ+μ) so both parametrisations agree exactly."""
    p = theta / (theta + mu)
    return {"theta": theta, "p": p, "mu": theta * ((1 - p) / p), "pi": pi}


def extreme_parameters(rng: np.random.Generator, n: int) -> Params:
    """Log-uniform μ ∈ [1e-8, 1e3], θ ∈ [1e-3, 1e6], π ∈ [1e-12, 1 − 1e-12], pinned extremes."""
    theta = np.exp(rng.uniform(np.log(1e-3), np.log(1e6), n))
    mu = np.exp(rng.uniform(np.log(1e-8), np.log(1e3), n))
    pi = 1 / (1 + np.exp(-rng.uniform(-27, 27, n)))
    theta[:40], theta[40:80] = 1e-3, 1e6
    mu[80:120] = 1e-8
    pi[120:160], pi[160:200] = 1e-12, 1 - 1e-12
    return nb_parameters(theta, mu, pi)


def build(case: Case, p: Params, dtype: torch.dtype = torch.float64) -> CountDistribution:
    tensors = {name: torch.tensor(p[name], dtype=dtype) for name in case.cls.parameter_names}
    return case.cls(**tensors)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_log_prob_matches_scipy(case: Case) -> None:
    rng = np.random.default_rng(7)
    p = extreme_parameters(rng, 3000)
    y = rng.integers(0, 40, 3000).astype(float)
    y[::4] = 0.0
    y[1::10] = rng.integers(1000, 10_001, 300)
    expected = case.ref_logpmf(y, p)
    args = [torch.tensor(p[name]) for name in case.cls.parameter_names]
    from_function = case.log_prob(torch.tensor(y), *args).numpy()
    from_class = build(case, p).log_prob(torch.tensor(y)).numpy()
    assert np.isfinite(expected).all()
    np.testing.assert_allclose(from_function, expected, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(from_class, from_function)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_mean_and_variance_match_scipy(case: Case) -> None:
    p = extreme_parameters(np.random.default_rng(8), 1000)
    dist = build(case, p)
    mean, var = case.ref_moments(p)
    np.testing.assert_allclose(dist.mean.numpy(), mean, rtol=1e-10)
    np.testing.assert_allclose(dist.variance.numpy(), var, rtol=1e-9)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_sampling_moments_by_monte_carlo(case: Case) -> None:
    theta = np.array([0.5, 2.0, 50.0, 5.0])
    p = nb_parameters(theta, np.array([3.0, 0.4, 12.0, 30.0]), np.array([0.1, 0.6, 0.3, 0.05]))
    dist = build(case, p)
    draws = dist.sample(torch.Generator().manual_seed(11), (200_000,))
    again = dist.sample(torch.Generator().manual_seed(11), (200_000,))
    assert draws.shape == (200_000, 4) and draws.dtype == torch.float64
    assert torch.equal(draws, again)
    assert bool((draws >= 0).all()) and torch.equal(draws, draws.round())
    mean, var = case.ref_moments(p)
    standard_error = np.sqrt(var / draws.shape[0])
    assert np.all(np.abs(draws.mean(0).numpy() - mean) < 5 * standard_error)
    np.testing.assert_allclose(draws.var(0).numpy(), var, rtol=0.04)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_quantiles_match_scipy_ppf(case: Case) -> None:
    rng = np.random.default_rng(9)
    n = 400
    theta = np.exp(rng.uniform(np.log(0.05), np.log(1e4), n))
    p = nb_parameters(
        theta, np.exp(rng.uniform(np.log(1e-3), np.log(80), n)), rng.uniform(0, 0.9, n)
    )
    q = rng.uniform(0.0, 0.995, n)
    got = build(case, p).quantile(torch.tensor(q)).numpy()
    np.testing.assert_array_equal(got, case.ref_ppf(q, p))


def test_quantile_of_a_scalar_level_and_errors() -> None:
    dist = Poisson(torch.tensor([0.5, 4.0, 20.0], dtype=torch.float64))
    expected = stats.poisson.ppf(0.9, [0.5, 4.0, 20.0])
    np.testing.assert_array_equal(dist.quantile(0.9).numpy(), expected)
    # A bound below the quantile caps the result at the bound.
    assert dist.quantile(0.9, max_count=5).tolist() == [min(e, 5) for e in expected]
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        dist.quantile(1.0)
    # A level equal to a CDF value: NB(μ = 1, θ = 1) has P(0) = 1/2 exactly, so the median is 0.
    one = torch.ones(1, dtype=torch.float64)
    assert NegativeBinomial(one, one).quantile(0.5).item() == stats.nbinom.ppf(0.5, 1, 0.5) == 0


def test_zinb_limits_and_expected_count() -> None:
    y = torch.tensor([0.0, 0.0, 3.0, 3.0], dtype=torch.float64)
    mu = torch.full((4,), 2.0, dtype=torch.float64)
    theta = torch.full((4,), 1.5, dtype=torch.float64)
    pi = torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=torch.float64)
    out = zinb_log_prob(y, mu, theta, pi)
    nb = nb_log_prob(y, mu, theta)
    assert out[0] == 0.0 and out[2] == -math.inf  # all mass on the structural zero
    assert torch.equal(out[[1, 3]], nb[[1, 3]])  # π = 0 is the NB
    zinb = ZeroInflatedNegativeBinomial(mu, theta, torch.full((4,), 0.25, dtype=torch.float64))
    assert torch.allclose(zinb.mean, torch.full((4,), 1.5, dtype=torch.float64))  # (1 − π)·μ


def test_nb_tends_to_poisson_and_handles_zero_mean() -> None:
    y = torch.arange(0.0, 30.0, dtype=torch.float64)
    mu = torch.full_like(y, 6.0)
    poisson = poisson_log_prob(y, mu)
    for theta, gap in ((1e8, 3e-6), (1e12, 3e-10), (1e300, 1e-13)):  # NB − Poisson = O(μ²/θ)
        nb = nb_log_prob(y, mu, torch.full_like(y, theta))
        assert (nb - poisson).abs().max().item() < gap
    zero_mean = torch.zeros(2, dtype=torch.float64)
    counts = torch.tensor([0.0, 2.0], dtype=torch.float64)
    assert poisson_log_prob(counts, zero_mean).tolist() == [0.0, -math.inf]
    assert nb_log_prob(counts, zero_mean, torch.ones(2, dtype=torch.float64)).tolist() == [
        0.0,
        -math.inf,
    ]


def test_float32_gradients_are_finite_at_extremes() -> None:
    mu = torch.tensor([1e-8, 5.0, 3e3, 1e-3, 2.0], requires_grad=True)
    theta = torch.tensor([1e6, 1e-3, 0.5, 1e-30, 1e30], requires_grad=True)
    pi = torch.tensor([1e-7, 1 - 1e-7, 0.5, 0.2, 0.9], requires_grad=True)
    y = torch.tensor([0.0, 4.0, 10_000.0, 1.0, 0.0])
    log_prob = zinb_log_prob(y, mu, theta, pi)
    log_prob.sum().backward()
    for grad in (mu.grad, theta.grad, pi.grad):
        assert grad is not None and bool(torch.isfinite(grad).all())
    reference = zinb_log_prob(y.double(), mu.double(), theta.double(), pi.double())
    # float32 keeps ~3 digits of log y! − log Γ(y + θ) at y = 1e4; the rest is exact.
    assert torch.allclose(log_prob.double(), reference, rtol=1e-3)


def _reference_loss(y: float, mu: float, theta: float, pi: float, eps: float) -> float:
    """The reference's per-element loss, written out with math and scipy."""
    mu, theta, pi = max(mu, eps), max(theta, eps), min(max(pi, eps), 1 - eps)
    p = theta / (theta + mu)
    if y == 0:
        return -math.log(pi + (1 - pi) * p**theta)
    return -(math.log(1 - pi) + float(stats.nbinom.logpmf(y, theta, p)))


def test_paper_loss_reproduces_the_reference_clamps() -> None:
    rows = [
        (0, 0.0, 0.0, 0.0),
        (3, 0.0, 2.0, 0.3),
        (0, 2.0, 1e-9, 1.0),
        (5, 4.0, 3.0, 1.0),
        (2, 1.5, 0.7, 0.2),
    ]
    y, mu, theta, pi = (torch.tensor(col, dtype=torch.float64) for col in zip(*rows, strict=True))
    expected = np.mean([_reference_loss(*row, eps=1e-6) for row in rows])
    assert zinb_nll(y, mu, theta, pi, eps=1e-6).item() == pytest.approx(expected, rel=1e-9)
    paper = ZeroInflatedNegativeBinomial(mu, theta, pi, eps=1e-6)
    assert paper.nll(y).item() == pytest.approx(expected, rel=1e-9)
    assert not math.isfinite(
        zinb_nll(y, mu, theta, pi).item()
    )  # no clamps: μ = 0, y = 3 is impossible


def test_paper_and_stable_forms_agree_away_from_the_clamps() -> None:
    p = extreme_parameters(np.random.default_rng(10), 500)
    inside = (p["mu"] > 1e-5) & (p["theta"] > 1e-5) & (p["pi"] > 1e-5) & (p["pi"] < 1 - 1e-5)
    tensors = [torch.tensor(p[k][inside]) for k in ("mu", "theta", "pi")]
    y = torch.tensor(
        np.random.default_rng(11).integers(0, 20, int(inside.sum())), dtype=torch.float64
    )
    stable, paper = zinb_nll(y, *tensors), zinb_nll(y, *tensors, eps=1e-6)
    assert paper.item() == pytest.approx(stable.item(), rel=1e-9)


def test_count_distribution_factory() -> None:
    params = {name: torch.tensor([0.5]) for name in ("mu", "theta", "pi")}
    assert type(count_distribution("zinb", params)) is ZeroInflatedNegativeBinomial
    assert type(count_distribution("nb", params)) is NegativeBinomial
    assert type(count_distribution("poisson", {"mu": params["mu"]})) is Poisson
    clamped = count_distribution("poisson", {"mu": torch.tensor([0.0])}, eps=1e-6)
    assert clamped.mean.item() == pytest.approx(1e-6)
    with pytest.raises(ValueError, match="unknown count distribution"):
        count_distribution("gaussian", params)


def test_sum_of_independent_is_the_convolution_of_the_components() -> None:
    """P(Y₁ + Y₂ + Y₃ = m) by brute force over every (y₁, y₂) against the direct
    convolution; Poisson components sum to a Poisson."""
    from fase.models.distributions import LevelCategorical, SumOfIndependent

    mu = torch.tensor([[0.5, 1.2, 3.0], [0.1, 0.2, 0.3]], dtype=torch.float64)
    theta = torch.tensor([[2.0, 0.7, 5.0], [1.0, 1.0, 1.0]], dtype=torch.float64)
    law = SumOfIndependent(NegativeBinomial(mu, theta))
    for cell, total in ((0, 5), (1, 2)):
        expected = 0.0
        for a in range(total + 1):
            for b in range(total + 1 - a):
                c = total - a - b
                p = [
                    stats.nbinom.pmf(
                        k,
                        theta[cell, j].item(),
                        theta[cell, j].item() / (theta[cell, j].item() + mu[cell, j].item()),
                    )
                    for j, k in enumerate((a, b, c))
                ]
                expected += p[0] * p[1] * p[2]
        y = torch.zeros(2, dtype=torch.float64)
        y[cell] = total
        assert law.log_prob(y)[cell].exp().item() == pytest.approx(expected, rel=1e-10)
    poisson_sum = SumOfIndependent(Poisson(mu))
    y = torch.tensor([4.0, 0.0], dtype=torch.float64)
    np.testing.assert_allclose(
        poisson_sum.log_prob(y).numpy(), stats.poisson.logpmf([4, 0], mu.sum(dim=1).numpy())
    )
    torch.testing.assert_close(law.mean, mu.sum(dim=1))
    torch.testing.assert_close(law.variance, (mu + mu**2 / theta).sum(dim=1))

    levels = LevelCategorical(
        torch.tensor([[0.0, 1.0, 2.0, 0.0, -1.0]]), torch.tensor([1, 2, 4, 7])
    )
    counts = torch.tensor([0.0, 1.0, 3.0, 6.0, 9.0]).reshape(-1, 1)
    probs = torch.softmax(torch.tensor([0.0, 1.0, 2.0, 0.0, -1.0]), 0)
    torch.testing.assert_close(levels.log_prob(counts).exp().squeeze(1), probs)
    assert torch.isnan(levels.mean).all()
