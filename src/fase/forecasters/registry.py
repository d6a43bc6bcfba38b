"""The model registry: name → factory. ``--model`` and ``fase compare --models`` take
these names.

Each model module registers itself with :func:`register`; :func:`create` builds a fresh,
unfitted forecaster from :class:`ForecasterSettings` (the run's ``model`` and
``training`` sections).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from fase.config.model import ModelConfig
from fase.config.training import TrainingConfig
from fase.errors import FaseInputError
from fase.forecasters.base import Forecaster

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
    """

    training: TrainingConfig
    quick: bool = False
    model: ModelConfig = field(default_factory=ModelConfig)


Factory = Callable[[ForecasterSettings], Forecaster]
_FACTORIES: dict[str, Factory] = {}
_COMPARED: list[str] = []


def register(name: str, *, compared: bool = True) -> Callable[[Factory], Factory]:
    """Decorator: make ``factory`` available as ``name`` (in ``fase compare --models all``
    unless ``compared`` is false)."""

    def add(factory: Factory) -> Factory:
        if name in _FACTORIES:
            raise ValueError(f"model {name!r} is registered twice")
        _FACTORIES[name] = factory
        if compared:
            _COMPARED.append(name)
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


def create(name: str, settings: ForecasterSettings) -> Forecaster:
    """A fresh forecaster ``name`` (see :func:`available_models`)."""
    require_models([name])
    return _FACTORIES[name](settings)


def require_models(names: Sequence[str], source: str = "--models") -> None:
    """Raise :class:`FaseInputError` (naming ``source``) unless every name is registered."""
    known = available_models()
    unknown = [name for name in names if name not in known]
    if unknown:
        listed = repr(unknown[0]) if len(unknown) == 1 else str(unknown)
        raise FaseInputError(source, f"unknown model {listed}", f"choose from {known}")
