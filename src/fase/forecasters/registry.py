"""The model registry: name → factory. ``--model`` and ``fase compare --models`` take
these names.

Each model module registers itself with :func:`register`; :func:`create` builds a fresh,
unfitted forecaster from :class:`ForecasterSettings` (the run's ``model`` and
``training`` sections).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from fase.config.model import ModelConfig
from fase.config.training import TrainingConfig
from fase.errors import FaseInputError
from fase.forecasters.base import Forecaster
from fase.forecasters.neural import NeuralForecaster
from fase.forecasters.per_type import PerTypeForecaster

# Modules whose import registers models, in leaderboard order.
MODEL_MODULES = (
    "fase.forecasters.baselines",
    "fase.forecasters.glm",
    "fase.forecasters.hawkes",
    "fase.forecasters.dnn",
    "fase.forecasters.crimenet",
    "fase.forecasters.gat_tcn",
    "fase.forecasters.fase",
)


@dataclass(frozen=True)
class ForecasterSettings:
    """What builds a forecaster.

    Attributes:
        training: the engine settings of every neural model (window, stride, batch,
            epochs, early stopping, threads); a model may override its objective or lr.
        quick: smaller networks, for smoke runs.
        model: FASE's configuration (the ``fase`` model; the ablations use their presets').
        crime_types: forecast every crime type (networks jointly, other models one copy
            per type; :meth:`Forecaster.for_crime_types`); the data need type channels.
        hyperparameters: model name → the values a grid search chose (``fase compare
            --tune``), e.g. ``{"dnn": {"hidden": 64, "lr": 1e-3}}``.
    """

    training: TrainingConfig
    quick: bool = False
    model: ModelConfig = field(default_factory=ModelConfig)
    crime_types: bool = False
    hyperparameters: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def tuned(self, name: str) -> Mapping[str, float]:
        """The tuned hyperparameters of model ``name`` (empty: the defaults)."""
        return self.hyperparameters.get(name, {})


Factory = Callable[[ForecasterSettings], Forecaster]
_FACTORIES: dict[str, Factory] = {}
_COMPARED: list[str] = []
_COMPARISON_ONLY: set[str] = set()


def register(
    name: str, *, compared: bool = True, deployable: bool = True
) -> Callable[[Factory], Factory]:
    """Decorator: make ``factory`` available as ``name`` (in ``fase compare --models all``
    unless ``compared`` is false). A model that is not ``deployable`` (a risk-level
    classifier, a model on the study's incident-level inputs) is compared but never
    deployed (``--model`` of run, train, simulate, serve, federated)."""

    def add(factory: Factory) -> Factory:
        if name in _FACTORIES:
            raise ValueError(f"model {name!r} is registered twice")
        _FACTORIES[name] = factory
        if compared:
            _COMPARED.append(name)
        if not deployable:
            _COMPARISON_ONLY.add(name)
        return factory

    return add


def _import_models() -> None:
    for module in MODEL_MODULES:
        importlib.import_module(module)


def available_models() -> list[str]:
    """Every registered model name, in leaderboard order."""
    _import_models()
    return list(_FACTORIES)


def compared_models() -> list[str]:
    """The models ``fase compare --models all`` ranks, in leaderboard order."""
    _import_models()
    return list(_COMPARED)


def deployable_models() -> list[str]:
    """The models a deployment's ``--model`` accepts (they forecast area counts from the
    area features)."""
    return [name for name in available_models() if name not in _COMPARISON_ONLY]


def create(name: str, settings: ForecasterSettings) -> Forecaster:
    """A fresh forecaster ``name`` (see :func:`available_models`), per crime type when
    ``settings.crime_types``."""
    require_models([name])
    forecaster = _FACTORIES[name](settings)
    if not settings.crime_types:
        return forecaster
    if isinstance(forecaster, NeuralForecaster):
        return forecaster.for_crime_types()  # one network, one output per type
    return PerTypeForecaster(forecaster)


def require_models(
    names: Sequence[str], source: str = "--models", *, deployable: bool = False
) -> None:
    """Raise :class:`FaseInputError` (naming ``source``) unless every name is registered
    (and, with ``deployable``, forecasts counts)."""
    known = deployable_models() if deployable else available_models()
    unknown = [name for name in names if name not in known]
    if unknown:
        listed = repr(unknown[0]) if len(unknown) == 1 else str(unknown)
        what = "deployable model" if deployable and set(unknown) <= _COMPARISON_ONLY else "model"
        raise FaseInputError(source, f"unknown {what} {listed}", f"choose from {known}")
