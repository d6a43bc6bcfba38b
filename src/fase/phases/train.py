"""Phase 3 on a run directory (``fase train``): fit the run's forecaster, forecast the
validation and test splits, keep the fitted model.

Reads ``data/`` and ``graph/`` (built first with Phases 1–2 when absent) and writes
``config.yaml``, ``checkpoints/{best,last}.pt`` and ``training_log.csv`` (networks),
``model/`` (:mod:`fase.forecasters.trained`) and ``forecast/forecast.npz``
(:mod:`fase.training.forecast`). The model is ``cfg.forecaster``: FASE by default,
any registered model with ``--model``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fase.config import RunConfig
from fase.data.tensors import Tensors
from fase.errors import FaseInputError
from fase.forecasters import (
    FitReport,
    ForecastData,
    Forecaster,
    create,
    forecaster_settings,
    save_forecaster,
)
from fase.graph import Graph
from fase.phases.data import run_data_phases
from fase.rundir import RunDir
from fase.runtime import configure_threads
from fase.training.checkpoint import TrainingState
from fase.training.distributed import current_sharding
from fase.training.forecast import write_forecast
from fase.training.memory import keep_freed_memory

FORECAST_SPLITS = ("val", "test")


def _check_same_data_method(cfg: RunConfig, run: RunDir) -> None:
    """Refuse to train on existing data built with another dataset or data/graph method."""
    if not run.config.is_file():
        return
    saved = run.load_config()
    differing = [
        name for name in ("dataset", "data", "graph") if getattr(saved, name) != getattr(cfg, name)
    ]
    if differing:
        raise FaseInputError(
            run.config,
            f"the run's data were built with another {' and '.join(differing)} configuration",
            "train into a new --out directory, or with the config the data were built with",
        )


@dataclass(frozen=True)
class TrainingRun:
    """What :func:`train_run` did: the fit, the fitted forecaster and its forecast."""

    report: FitReport
    forecaster: Forecaster
    forecast_path: Path
    data_built: bool


def train_run(
    cfg: RunConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    progress: bool | None = None,
    on_epoch_end: Callable[[TrainingState], None] | None = None,
) -> TrainingRun:
    """Fit ``cfg.forecaster`` on a run directory; write its forecasts and the model.

    Sets the torch thread count to ``cfg.training.threads`` and keeps freed memory for
    reuse (:func:`~fase.training.memory.keep_freed_memory`); builds Phases 1–2 into the
    run directory when ``data/`` or ``graph/`` is missing. Networks see the features
    standardised with the training statistics; with ``model.placement`` FASE trains and
    forecasts split across two devices. Under ``torchrun`` every rank trains and rank 0
    alone writes the forecast and the model.
    """
    run = RunDir(run_dir)
    sharding = current_sharding()
    if cfg.model.placement is not None and sharding.distributed:
        raise FaseInputError(
            "model.placement",
            "a model split across devices cannot also train data-parallel (--nproc)",
            "train in one process, or drop model.placement",
        )
    configure_threads(cfg.training.threads)
    keep_freed_memory()
    data_built = False
    if not run.has_data_phases():
        if resume:
            raise FaseInputError(run.root, "has no data/ or graph/ to resume from")
        run_data_phases(cfg, run.root)
        data_built = True
    elif not resume:
        _check_same_data_method(cfg, run)
    if not resume:
        run.write_config(cfg)
    tensors = Tensors.load(run)
    data = ForecastData.from_tensors(tensors, Graph.load(run.graph))
    forecaster = create(cfg.forecaster, forecaster_settings(cfg))
    report = forecaster.fit(
        data,
        seed=cfg.seed,
        out_dir=run.root,
        resume=resume,
        progress=progress,
        on_epoch_end=on_epoch_end,
    )
    if sharding.is_main:
        forecasts = {split: forecaster.forecast_split(data, split) for split in FORECAST_SPLITS}
        write_forecast(run.forecast, forecasts, np.asarray(tensors.bin_start, dtype=np.int64))
        save_forecaster(run, forecaster)
    return TrainingRun(report, forecaster, run.forecast, data_built)
