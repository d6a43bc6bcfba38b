"""What the training engine needs from a network (FASE and the model zoo's networks alike)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from torch import Tensor

from fase.models.distributions import CountDistribution


@runtime_checkable
class CountNetwork(Protocol):
    """A sequence-to-sequence count network, one step ahead at every position.

    ``model(x, y_hist)`` maps features x (B, N, W, F) and counts y_hist (B, N, P + W) —
    the P = ``history_steps`` bins before the window, then the window's own bins — to a
    dict of distribution parameters, each (B, N, W). Position t may use y_hist only up
    to its own bin − 1 (causal). ``distribution(params)`` turns those parameters into a
    :class:`CountDistribution` with ``log_prob``, ``mean`` and quantiles. Any
    ``torch.nn.Module`` with these members can be trained by :func:`fase.training.fit`
    and wrapped as a forecaster by :class:`fase.forecasters.NeuralForecaster`.
    """

    @property
    def history_steps(self) -> int:
        """P, bins of counts passed before each window (0: the window's own counts only)."""
        ...

    def __call__(self, x: Tensor, y_hist: Tensor) -> dict[str, Tensor]: ...

    def distribution(self, params: dict[str, Tensor]) -> CountDistribution: ...
