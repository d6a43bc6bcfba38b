"""Settings of the model comparison (``fase compare``) and of federated training
(``fase federated``): configuration as data, in the presets like every other phase."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from fase.config.dataset import Strict


class TrainingBudget(Strict):
    """The training every neural model of a comparison shares, on top of the run's
    ``training`` section: a fixed, modest number of epochs with early stopping, so that
    3 seeds × all models fit in 30 minutes on two cores.

    Attributes:
        epochs: epochs at most.
        stride: bins between training-window starts (``None``: the training section's).
        early_stopping_patience: epochs without improvement before stopping (None: off).
        plateau_patience: epochs without improvement before the learning rate halves.
    """

    epochs: int = Field(6, ge=1)
    stride: int | None = Field(None, ge=1)
    early_stopping_patience: int | None = Field(3, ge=1)
    plateau_patience: int = Field(2, ge=0)

    def training_overrides(self) -> dict[str, object]:
        """The ``training`` fields this budget replaces."""
        overrides = self.model_dump(exclude={"stride"})
        if self.stride is not None:
            overrides["stride"] = self.stride
        return overrides


class CompareConfig(Strict):
    """``fase compare``.

    Attributes:
        seeds: seeds per model (mean ± std over them).
        budget: the shared training budget of a full comparison.
        quick_budget: ``--quick``: two epochs on every 8th window, small models (a smoke
            run, not a result).
        explain: Integrated-Gradients attributions of every neural model (first seed).
    """

    seeds: int = Field(3, ge=1)
    budget: TrainingBudget = TrainingBudget()
    quick_budget: TrainingBudget = TrainingBudget(
        epochs=2, stride=256, early_stopping_patience=None, plateau_patience=10
    )
    explain: bool = True


class FederatedConfig(Strict):
    """``fase federated``: one federated experiment over districts.

    Attributes:
        clients: K districts of contiguous areas (2 ≤ K ≤ N areas).
        rounds: R federated rounds.
        local_epochs: E epochs each client trains per round.
        model: a registered neural model whose learned weights do not depend on the
            number of areas.
        strategy: ``fedavg`` or ``fedprox``.
        mu: FedProx's proximal weight μ (used with ``fedprox`` only).
        backend: ``inprocess`` (clients one after the other in this process) or ``ray``
            (Flower's Ray backend, ``training.threads`` actors of one CPU each).
    """

    clients: int = Field(4, ge=2)
    rounds: int = Field(5, ge=1)
    local_epochs: int = Field(1, ge=1)
    model: str = "dnn"
    strategy: Literal["fedavg", "fedprox"] = "fedavg"
    mu: float = Field(0.01, ge=0)
    backend: Literal["inprocess", "ray"] = "inprocess"

    @property
    def proximal_weight(self) -> float:
        """μ under FedProx, 0 under FedAvg."""
        return self.mu if self.strategy == "fedprox" else 0.0

    @property
    def total_epochs(self) -> int:
        """R·E, the centrally trained model's epochs."""
        return self.rounds * self.local_epochs
