"""The model registry: name → factory. ``fase compare --models`` takes these names.

Each model module registers itself with :func:`register`; :func:`create` builds a fresh,
unfitted forecaster from the comparison's :class:`ZooSettings`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fase.config.training import TrainingConfig
from fase.errors import FaseInputError
from fase.zoo.base import Forecaster

# Modules whose import registers models, in leaderboard order.
MODEL_MODULES = (
    "fase.zoo.baselines",
    "fase.zoo.hawkes_mle",
    "fase.zoo.dnn",
    "fase.zoo.crimenet",
    "fase.zoo.gat_tcn",
    "fase.zoo.fase_variants",
)


@dataclass(frozen=True)
class ZooSettings:
    """What every model of a comparison shares.

    Attributes:
        training: the engine settings of every neural model (window, stride, batch,
            epochs, early stopping, threads); a model may override its objective or lr.
        quick: smaller models and fewer epochs, for smoke runs.
    """

    training: TrainingConfig
    quick: bool = False


Factory = Callable[[ZooSettings], Forecaster]
_FACTORIES: dict[str, Factory] = {}


def register(name: str) -> Callable[[Factory], Factory]:
    """Decorator: make ``factory`` available as ``name``."""

    def add(factory: Factory) -> Factory:
        if name in _FACTORIES:
            raise ValueError(f"model {name!r} is registered twice")
        _FACTORIES[name] = factory
        return factory

    return add


def available_models() -> list[str]:
    """Every registered model name, in leaderboard order."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return list(_FACTORIES)


def create(name: str, settings: ZooSettings) -> Forecaster:
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
