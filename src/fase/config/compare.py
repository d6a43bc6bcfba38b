"""Settings of the model comparison (``fase compare``) and of federated training
(``fase federated``): configuration as data, in the presets like every other phase."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from fase.config.dataset import Strict


class TrainingBudget(Strict):
    """The training every neural model of a comparison shares, on top of the run's
    ``training`` section: a fixed number of training windows and epochs with early
    stopping, so that 3 seeds × all models fit in 30 minutes on two cores.

    Attributes:
        epochs: epochs at most.
        windows: training windows per epoch, spread evenly over the training split
            (the stride follows from the split's length, so the budget means the same
            at any bin width); None: the training section's stride.
        early_stopping_patience: epochs without improvement before stopping (None: off).
        plateau_patience: epochs without improvement before the learning rate halves.
    """

    epochs: int = Field(15, ge=1)
    windows: int | None = Field(64, ge=2)
    early_stopping_patience: int | None = Field(4, ge=1)
    plateau_patience: int = Field(2, ge=0)

    def training_overrides(self, train_bins: int, window: int) -> dict[str, object]:
        """The ``training`` fields this budget replaces, for a training split of
        ``train_bins`` bins and windows of ``window`` bins."""
        overrides = self.model_dump(exclude={"windows"})
        if self.windows is not None:
            overrides["stride"] = max(1, (train_bins - window) // (self.windows - 1))
        return overrides


class TuningConfig(Strict):
    """``fase compare --tune``: a grid search per model on the validation split.

    Every grid point of a model is fitted once (seed ``seed``) with the tuning budget and
    scored by its best validation loss; the best point is then used for every seed of
    the comparison. ``max_points`` caps the grid of each model (the first points in
    the order written), so the cost is known before the run.

    Attributes:
        grid: model name → hyperparameter → the values to try (``hidden``, ``layers``,
            ``channels``, ``lr``; see each model's factory).
        budget: the training of every grid point.
        max_points: grid points per model at most.
    """

    grid: dict[str, dict[str, list[float]]] = Field(
        default_factory=lambda: {
            "dnn": {"hidden": [64, 128], "layers": [2, 3], "lr": [1e-3, 3e-3]},
            "crimenet": {"hidden": [64, 128], "lr": [1e-3, 3e-3]},
            "gat_tcn": {"channels": [32, 64], "lr": [1e-3, 3e-3]},
        }
    )
    budget: TrainingBudget = TrainingBudget(epochs=8, windows=32, early_stopping_patience=3)
    max_points: int = Field(8, ge=1)


class CompareConfig(Strict):
    """``fase compare``.

    Attributes:
        seeds: seeds per model (mean ± std over them).
        bin: the comparison's time bin (``1D``: daily, where risk levels are informative;
            an hourly area-bin is empty 80 % of the time). ``--bin`` overrides it.
        crime_types: every model forecasts each crime type (networks jointly; the
            total is the sum of the types); per-type scores come from these forecasts.
        budget: the shared training budget of a full comparison.
        quick_budget: ``--quick``: two epochs on 16 windows, small models (a smoke run,
            not a result).
        explain: Integrated-Gradients and SHAP attributions of every neural model
            (first seed).
        tuning: the grid search of ``--tune``.
    """

    seeds: int = Field(3, ge=1)
    bin: str = "1D"
    crime_types: bool = True
    budget: TrainingBudget = TrainingBudget()
    quick_budget: TrainingBudget = TrainingBudget(
        epochs=2, windows=16, early_stopping_patience=None, plateau_patience=10
    )
    explain: bool = True
    tuning: TuningConfig = TuningConfig()


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
