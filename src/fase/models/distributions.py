"""Count distributions for the forecast head: ZINB, negative binomial and Poisson.

Parametrisation (element-wise; every argument broadcasts against the others):

* Poisson(μ):   log P(y) = y·log μ − μ − log y!                       mean μ, variance μ.
* NB(μ, θ):     log P(y) = log Γ(y+θ) − log Γ(θ) − log y! − θ·log(1 + μ/θ) + y·log(μ/(θ+μ)),
                mean μ, variance μ + μ²/θ. It equals scipy's ``nbinom(n=θ, p=θ/(θ+μ))``
                and tends to Poisson(μ) as θ → ∞.
* ZINB(μ, θ, π): P(y) = π·1[y=0] + (1−π)·NB(y; μ, θ), so
                log P(0) = logaddexp(log π, log(1−π) + log NB(0)) and
                log P(y>0) = log(1−π) + log NB(y); mean (1−π)·μ, variance (1−π)·μ·(1 + μ/θ + π·μ).

μ is the NB mean (paper Eq. 5), not the ZINB mean: the expected count is ``.mean``.
All computation is in the dtype of μ. The stable forms use lgamma, log1p, xlogy and
logaddexp, and need no clamps beyond θ ≥ the smallest normal number (so that log θ and
μ/θ exist). For θ ≥ 100, Stirling's series replaces the lgamma difference, so NB tends to
Poisson smoothly as θ → ∞. They hold for μ → 0, θ from 1e-3 to 1e300, π near 0 and 1 and
counts up to 1e4 (float64 error below 1e-8 against scipy).
Counts y are not checked: non-integer y goes through the continuous extension of y!.

``eps`` (the paper preset: 1e-6) reproduces the reference loss instead: μ, θ ≥ eps,
π ∈ [eps, 1 − eps], and for ZINB the reference's own formula
(a = log θ − log(θ+μ), b = log μ − log(θ+μ)).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import ClassVar

import torch
from torch import Tensor


def _log1p_ratio(mu: Tensor, theta: Tensor) -> Tensor:
    """log(1 + μ/θ) for μ ≥ 0, θ > 0: log1p where μ < θ, log(θ+μ) − log θ elsewhere.

    The double ``where`` keeps μ/θ finite on the branch not taken (θ tiny), so gradients
    never meet 0·inf.
    """
    small = mu < theta
    ratio = torch.where(small, mu, 0.0) / torch.where(small, theta, 1.0)
    return torch.where(small, torch.log1p(ratio), torch.log(theta + mu) - torch.log(theta))


def _floor_theta(theta: Tensor) -> Tensor:
    """θ clamped to the smallest normal number of its dtype (only to avoid log 0 and μ/0)."""
    return theta.clamp(min=torch.finfo(theta.dtype).tiny)


def poisson_log_prob(y: Tensor, mu: Tensor) -> Tensor:
    """log Poisson(y; μ) = y·log μ − μ − log Γ(y+1), element-wise; log P(0 | μ=0) = 0."""
    y = torch.as_tensor(y, dtype=mu.dtype, device=mu.device)
    return torch.special.xlogy(y, mu) - mu - torch.lgamma(y + 1)


_STIRLING_FROM = 100.0  # θ from which NB uses Stirling's series (truncation error < 1e-17)


def _stirling_correction(x: Tensor) -> Tensor:
    """lgamma(x) − [(x − ½)·log x − x + ½·log 2π], by its asymptotic series (x ≥ 100)."""
    inv = 1 / x
    inv2 = inv * inv
    return inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 / 1680)))


def _log_rising_ratio(y: Tensor, theta: Tensor) -> Tensor:
    """log[Γ(y+θ) / (Γ(θ)·θ^y)] = lgamma(y+θ) − lgamma(θ) − y·log θ.

    For θ ≥ 100 it is (θ + y − ½)·log1p(y/θ) − y + s(θ+y) − s(θ) with s the Stirling
    correction, which has no cancellation between huge lgamma values and tends to 0 as
    θ → ∞ (the Poisson limit); below, the lgamma difference is exact enough.
    """
    large = theta >= _STIRLING_FROM
    big = torch.where(large, theta, _STIRLING_FROM)  # each branch sees only safe values
    small = torch.where(large, 1.0, theta)
    asymptotic = (
        (big + y - 0.5) * torch.log1p(y / big)
        - y
        + _stirling_correction(big + y)
        - _stirling_correction(big)
    )
    direct = torch.lgamma(y + small) - torch.lgamma(small) - y * torch.log(small)
    return torch.where(large, asymptotic, direct)


def nb_log_prob(y: Tensor, mu: Tensor, theta: Tensor) -> Tensor:
    """log NB(y; μ, θ), element-wise (see the module docstring for the formula).

    Written as log[Γ(y+θ)/(Γ(θ)θ^y)] − log y! − (θ + y)·log1p(μ/θ) + y·log μ, using
    θ·log(θ/(θ+μ)) = −θ·log1p(μ/θ) and y·log(μ/(θ+μ)) = y·log μ − y·log θ − y·log1p(μ/θ).
    """
    y = torch.as_tensor(y, dtype=mu.dtype, device=mu.device)
    theta = _floor_theta(theta)
    return (
        _log_rising_ratio(y, theta)
        - torch.lgamma(y + 1)
        - (theta + y) * _log1p_ratio(mu, theta)
        + torch.special.xlogy(y, mu)
    )


def zinb_log_prob(y: Tensor, mu: Tensor, theta: Tensor, pi: Tensor) -> Tensor:
    """log ZINB(y; μ, θ, π) = log(π·1[y=0] + (1−π)·NB(y; μ, θ)), element-wise."""
    y = torch.as_tensor(y, dtype=mu.dtype, device=mu.device)
    log_keep = torch.log1p(-pi) + nb_log_prob(y, mu, theta)
    return torch.where(y == 0, torch.logaddexp(torch.log(pi), log_keep), log_keep)


def _zinb_log_prob_reference(
    y: Tensor, mu: Tensor, theta: Tensor, pi: Tensor, eps: float
) -> Tensor:
    """The reference implementation's ZINB log-likelihood, with its clamps and formula."""
    y = torch.as_tensor(y, dtype=mu.dtype, device=mu.device)
    mu, theta, pi = mu.clamp(min=eps), theta.clamp(min=eps), pi.clamp(eps, 1 - eps)
    log_theta_mu = torch.log(theta + mu)
    a = torch.log(theta) - log_theta_mu
    b = torch.log(mu) - log_theta_mu
    log_nb = torch.lgamma(y + theta) - torch.lgamma(theta) - torch.lgamma(y + 1) + theta * a + y * b
    zero = torch.logaddexp(torch.log(pi), torch.log(1 - pi) + theta * a)
    return torch.where(y == 0, zero, torch.log(1 - pi) + log_nb)


def zinb_nll(y: Tensor, mu: Tensor, theta: Tensor, pi: Tensor, eps: float | None = None) -> Tensor:
    """Mean ZINB negative log-likelihood over all elements (paper Eq. 8).

    ``eps=None``: the stable form. ``eps=1e-6``: the reference loss exactly (clamps and all).
    """
    if eps is None:
        return -zinb_log_prob(y, mu, theta, pi).mean()
    return -_zinb_log_prob_reference(y, mu, theta, pi, eps).mean()


def _standard_gamma(shape: Tensor, generator: torch.Generator) -> Tensor:
    """Gamma(shape, 1) draws from an explicit generator (torch has no public API for it)."""
    return torch._standard_gamma(shape, generator=generator)


class CountDistribution(ABC):
    """A batch of independent count distributions with broadcastable parameter tensors.

    Subclasses name their parameters in ``parameter_names`` (the keys a forecast head
    produces) and give log-probability, moments and sampling; quantiles are generic.
    """

    name: ClassVar[str]
    parameter_names: ClassVar[tuple[str, ...]]

    def __init__(self, eps: float | None = None) -> None:
        self.eps = eps

    @abstractmethod
    def log_prob(self, y: Tensor) -> Tensor:
        """Element-wise log P(Y = y); y broadcasts against the parameters."""

    @property
    @abstractmethod
    def mean(self) -> Tensor:
        """Expected count E[Y], parameters' shape."""

    @property
    @abstractmethod
    def variance(self) -> Tensor:
        """Var[Y], parameters' shape."""

    @abstractmethod
    def sample(self, generator: torch.Generator, sample_shape: tuple[int, ...] = ()) -> Tensor:
        """Counts of shape ``sample_shape + batch_shape`` (float, the parameters' dtype)."""

    def parameters(self) -> dict[str, Tensor]:
        """The parameters by name (after the ``eps`` clamps, if any)."""
        return {key: getattr(self, key) for key in self.parameter_names}

    def nll(self, y: Tensor) -> Tensor:
        """Mean negative log-likelihood over all elements (a scalar)."""
        return -self.log_prob(y).mean()

    def quantile(self, q: Tensor | float, max_count: int | None = None) -> Tensor:
        """Exact inverse CDF on the integer support: the smallest k with P(Y ≤ k) ≥ q.

        The pmf is summed over k = 0..K for all elements at once, shape (K+1, *batch), so
        memory is (K+1)·numel. K is ``max_count`` or Cantelli's bound
        max(E[Y] + sd·√(q/(1−q))), for which P(Y ≤ K) ≥ q; results are capped at K.

        Args:
            q: probabilities in [0, 1), broadcastable to the batch shape.
            max_count: the largest count considered (default: Cantelli's bound).
        Returns:
            quantiles as floats, shape broadcast(q, batch).
        """
        mean = self.mean
        q = torch.as_tensor(q, dtype=mean.dtype, device=mean.device)
        if bool(((q < 0) | (q >= 1) | q.isnan()).any()):
            raise ValueError("quantile levels q must lie in [0, 1)")
        if max_count is None:
            k_sd = torch.sqrt(q / (1 - q))
            max_count = math.ceil(float((mean + self.variance.sqrt() * k_sd).max()))
        batch = torch.broadcast_shapes(q.shape, mean.shape)
        support = torch.arange(max_count + 1, dtype=mean.dtype, device=mean.device)
        support = support.reshape(-1, *([1] * len(batch)))
        cdf = torch.cumsum(self.log_prob(support).exp(), dim=0)
        return (cdf < q).sum(dim=0).clamp(max=max_count).to(mean.dtype)


class Poisson(CountDistribution):
    """Poisson(μ); ``mu`` any shape, μ ≥ 0."""

    name = "poisson"
    parameter_names = ("mu",)

    def __init__(self, mu: Tensor, eps: float | None = None) -> None:
        super().__init__(eps)
        self.mu = mu if eps is None else mu.clamp(min=eps)

    def log_prob(self, y: Tensor) -> Tensor:
        return poisson_log_prob(y, self.mu)

    @property
    def mean(self) -> Tensor:
        return self.mu

    @property
    def variance(self) -> Tensor:
        return self.mu

    def sample(self, generator: torch.Generator, sample_shape: tuple[int, ...] = ()) -> Tensor:
        rate = self.mu.expand(*sample_shape, *self.mu.shape)
        return torch.poisson(rate.contiguous(), generator=generator)


class NegativeBinomial(CountDistribution):
    """NB(μ, θ) with mean μ and dispersion θ > 0 (variance μ + μ²/θ)."""

    name = "nb"
    parameter_names = ("mu", "theta")

    def __init__(self, mu: Tensor, theta: Tensor, eps: float | None = None) -> None:
        super().__init__(eps)
        self.mu, self.theta = torch.broadcast_tensors(mu, theta)
        if eps is not None:
            self.mu, self.theta = self.mu.clamp(min=eps), self.theta.clamp(min=eps)

    def log_prob(self, y: Tensor) -> Tensor:
        return nb_log_prob(y, self.mu, self.theta)

    @property
    def mean(self) -> Tensor:
        return self.mu

    @property
    def variance(self) -> Tensor:
        return self.mu + self.mu**2 / self.theta

    def sample(self, generator: torch.Generator, sample_shape: tuple[int, ...] = ()) -> Tensor:
        """Gamma–Poisson mixture: λ ~ Gamma(θ, scale μ/θ), Y ~ Poisson(λ)."""
        shape = (*sample_shape, *self.mu.shape)
        theta = self.theta.expand(shape).contiguous()
        rate = _standard_gamma(theta, generator) * (self.mu / self.theta)
        return torch.poisson(rate, generator=generator)


class ZeroInflatedNegativeBinomial(CountDistribution):
    """ZINB(μ, θ, π): a structural zero with probability π, else NB(μ, θ)."""

    name = "zinb"
    parameter_names = ("mu", "theta", "pi")

    def __init__(self, mu: Tensor, theta: Tensor, pi: Tensor, eps: float | None = None) -> None:
        super().__init__(eps)
        mu, theta, pi = torch.broadcast_tensors(mu, theta, pi)
        self.counts = NegativeBinomial(mu, theta, eps)  # the non-structural part
        self.mu, self.theta = self.counts.mu, self.counts.theta
        self.pi = pi if eps is None else pi.clamp(eps, 1 - eps)

    def log_prob(self, y: Tensor) -> Tensor:
        if self.eps is None:
            return zinb_log_prob(y, self.mu, self.theta, self.pi)
        return _zinb_log_prob_reference(y, self.mu, self.theta, self.pi, self.eps)

    @property
    def mean(self) -> Tensor:
        return (1 - self.pi) * self.mu

    @property
    def variance(self) -> Tensor:
        return (1 - self.pi) * self.mu * (1 + self.mu / self.theta + self.pi * self.mu)

    def sample(self, generator: torch.Generator, sample_shape: tuple[int, ...] = ()) -> Tensor:
        counts = self.counts.sample(generator, sample_shape)
        uniform = torch.rand(
            counts.shape, generator=generator, dtype=counts.dtype, device=counts.device
        )
        return torch.where(uniform < self.pi, 0.0, counts)


class LevelCategorical(CountDistribution):
    """The law of a risk level 1–5 (a classifier's output), seen through the counts.

    ``logits`` (…, 5) score the levels; ``thresholds`` (4,) are the integer count
    thresholds τ₁ < … < τ₄ of :class:`fase.evaluation.levels.RiskLevels`, level(y) =
    1 + #{k : y ≥ τₖ}. ``log_prob(y)`` is log P(level = level(y)), so its mean negative
    is the cross-entropy of the levels of the observed counts; it is not a count
    likelihood (every count of a level gets that level's probability). The law says
    nothing about counts within a level: ``mean`` and ``variance`` are NaN and it cannot
    be sampled.
    """

    name = "levels"
    parameter_names = ("logits",)

    def __init__(self, logits: Tensor, thresholds: Tensor, eps: float | None = None) -> None:
        super().__init__(eps)
        self.logits = logits
        self.thresholds = torch.as_tensor(thresholds, dtype=logits.dtype, device=logits.device)

    def level_index(self, y: Tensor) -> Tensor:
        """level(y) − 1 ∈ {0, …, 4}, int64, ``y``'s shape."""
        y = torch.as_tensor(y, dtype=self.logits.dtype, device=self.logits.device)
        return torch.searchsorted(self.thresholds, y.contiguous(), right=True)

    def level_probabilities(self) -> Tensor:
        """P(level = k) for k = 1…5, shape (…, 5)."""
        return torch.softmax(self.logits, dim=-1)

    def log_prob(self, y: Tensor) -> Tensor:
        index = self.level_index(y)
        batch = torch.broadcast_shapes(index.shape, self.logits.shape[:-1])
        log_p = torch.log_softmax(self.logits, dim=-1).expand(*batch, self.logits.shape[-1])
        return log_p.gather(-1, index.expand(batch).unsqueeze(-1)).squeeze(-1)

    @property
    def mean(self) -> Tensor:
        return torch.full_like(self.logits[..., 0], math.nan)

    @property
    def variance(self) -> Tensor:
        return self.mean

    def sample(self, generator: torch.Generator, sample_shape: tuple[int, ...] = ()) -> Tensor:
        raise NotImplementedError("a risk-level classifier forecasts levels, not counts")


class SumOfIndependent(CountDistribution):
    """The total Y = Σₖ Yₖ of independent counts, one per crime type (the last axis).

    ``components`` is a distribution of shape (…, K); the total has shape (…). Its pmf
    is the convolution of the K pmfs, computed on the support 0 … M with M the largest
    count asked for (exact: a total ≤ M needs every Yₖ ≤ M). Mean and variance are the
    sums of the components'.
    """

    name = "sum"

    def __init__(self, components: CountDistribution) -> None:
        super().__init__(components.eps)
        self.components = components
        self.parameter_names = tuple(components.parameter_names)

    def parameters(self) -> dict[str, Tensor]:
        """The components' parameters, (…, K) each."""
        return self.components.parameters()

    def pmf(self, max_count: int) -> Tensor:
        """P(Y = m) for m = 0 … M, shape (M + 1, …): the components' pmfs convolved one
        after the other (direct sums of non-negative terms, so small tail probabilities
        keep their relative accuracy)."""
        mean = self.components.mean
        support = torch.arange(max_count + 1, dtype=mean.dtype, device=mean.device)
        support = support.reshape(-1, *([1] * mean.ndim))
        parts = self.components.log_prob(support).exp()  # (M + 1, …, K)
        flat = parts.flatten(1, -2).permute(1, 2, 0)  # (C cells, K, M + 1)
        cells = flat.shape[0]
        total = flat[:, 0]
        for k in range(1, flat.shape[1]):
            padded = torch.nn.functional.pad(total, (max_count, 0)).unsqueeze(0)  # (1, C, 2M+1)
            kernel = flat[:, k].flip(-1).unsqueeze(1)  # (C, 1, M + 1)
            total = torch.nn.functional.conv1d(padded, kernel, groups=cells).squeeze(0)
        return total.T.reshape(max_count + 1, *mean.shape[:-1])

    def log_prob(self, y: Tensor) -> Tensor:
        mean = self.mean
        y = torch.as_tensor(y, dtype=mean.dtype, device=mean.device)
        top = int(y.max()) if y.numel() else 0
        table = self.pmf(top)  # (M + 1, …)
        batch = torch.broadcast_shapes(y.shape, mean.shape)
        index = y.expand(batch).long().unsqueeze(0)
        table = table.expand(top + 1, *batch)
        return torch.log(table.gather(0, index).squeeze(0))

    @property
    def mean(self) -> Tensor:
        return self.components.mean.sum(dim=-1)

    @property
    def variance(self) -> Tensor:
        return self.components.variance.sum(dim=-1)

    def sample(self, generator: torch.Generator, sample_shape: tuple[int, ...] = ()) -> Tensor:
        return self.components.sample(generator, sample_shape).sum(dim=-1)


DISTRIBUTIONS: dict[str, type[CountDistribution]] = {
    cls.name: cls for cls in (ZeroInflatedNegativeBinomial, NegativeBinomial, Poisson)
}


def count_distribution(
    name: str, params: Mapping[str, Tensor], eps: float | None = None
) -> CountDistribution:
    """The distribution ``name`` (``"zinb"``, ``"nb"``, ``"poisson"``) from head outputs.

    ``params`` must hold the class's ``parameter_names`` (extra keys are ignored).
    """
    if name not in DISTRIBUTIONS:
        raise ValueError(
            f"unknown count distribution {name!r}; choose from {sorted(DISTRIBUTIONS)}"
        )
    cls = DISTRIBUTIONS[name]
    return cls(**{key: params[key] for key in cls.parameter_names}, eps=eps)
