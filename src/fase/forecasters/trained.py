"""A run's trained forecaster, kept in its run directory.

``fase train`` (and ``fase run``) fit the run's ``forecaster`` (``fase`` unless the
config or ``--model`` names another registered model) and keep it as
``model/forecaster.json`` (its registry name, family, objective, size) and
``model/state.npz`` (its fitted arrays: a network's best-checkpoint weights, a
baseline's rates). The later phases — allocation, the feedback simulation, the policy
study, the live service — load it back with :meth:`TrainedRun.load`, whatever the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fase.config import RunConfig
from fase.data.tensors import Tensors
from fase.errors import FaseInputError
from fase.forecasters.base import Forecaster
from fase.forecasters.data import ForecastData
from fase.forecasters.registry import ForecasterSettings, create
from fase.io import write_json, write_npz
from fase.rundir import RunDir, load_arrays, load_json

TRAIN_HINT = "run `fase train` on it first"


def forecaster_settings(cfg: RunConfig, quick: bool = False) -> ForecasterSettings:
    """The settings that build a run's forecasters: its ``model`` and ``training``."""
    return ForecasterSettings(cfg.training, quick, cfg.model)


def save_forecaster(run: RunDir, forecaster: Forecaster, quick: bool = False) -> None:
    """Write ``model/state.npz`` (the fitted arrays) and ``model/forecaster.json``."""
    write_npz(run.forecaster_state, forecaster.state())
    write_json(
        run.forecaster_info,
        {
            "name": forecaster.name,
            "family": forecaster.family,
            "objective": forecaster.objective,
            "parameters": forecaster.num_parameters,
            "quick": quick,
        },
    )


@dataclass(frozen=True)
class TrainedRun:
    """A run directory's configuration, data and fitted forecaster.

    Attributes:
        run: the run directory.
        cfg: its resolved configuration (``config.yaml``).
        tensors: Phase 1's tensors (``data/``).
        data: the same with the graph, as every forecaster sees it.
        forecaster: the fitted model (best-checkpoint weights for a network).
    """

    run: RunDir
    cfg: RunConfig
    tensors: Tensors
    data: ForecastData
    forecaster: Forecaster

    @classmethod
    def load(cls, run_dir: str | Path) -> TrainedRun:
        """Read everything the later phases need from a run trained with ``fase train``."""
        run = RunDir(run_dir)
        cfg = run.load_config()
        run.require(run.tensors, run.meta, run.graph, hint=TRAIN_HINT)
        run.require(run.forecaster_info, run.forecaster_state, hint=TRAIN_HINT)
        info = load_json(run.forecaster_info, TRAIN_HINT)
        name = info.get("name") if isinstance(info, dict) else None
        if name != cfg.forecaster:
            raise FaseInputError(
                run.forecaster_info,
                f"holds model {name!r} but config.yaml names {cfg.forecaster!r}",
                "train the run again with `fase train`",
            )
        tensors = Tensors.load(run)
        data = ForecastData.from_run(run, cfg.dataset.areas.projected_crs, tensors)
        forecaster = create(name, forecaster_settings(cfg, bool(info.get("quick", False))))
        try:
            forecaster.restore(data, load_arrays(run.forecaster_state, TRAIN_HINT))
        except (KeyError, ValueError) as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise FaseInputError(
                run.forecaster_state, f"does not fit the run's {name} model ({reason})", TRAIN_HINT
            ) from exc
        return cls(run, cfg, tensors, data, forecaster)
