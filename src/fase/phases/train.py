"""Phase 3 on a run directory: build FASE from the graph, train, forecast val and test.

Reads ``data/`` and ``graph/`` (built first with Phases 1–2 when absent) and writes
``config.yaml``, ``checkpoints/{best,last}.pt``, ``training_log.csv`` and
``forecast/forecast.npz`` (see :mod:`fase.training.forecast`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml

from fase.config import RunConfig
from fase.config.training import TrainingConfig
from fase.data.tensors import Tensors
from fase.errors import FaseInputError
from fase.graph import Graph
from fase.io import write_text
from fase.models.fase import FASEModel
from fase.models.split import split_by_placement
from fase.phases import has_data_phases, run_data_phases
from fase.runinfo import config_to_yaml
from fase.runtime import configure_threads
from fase.training.distributed import current_sharding
from fase.training.engine import EpochCallback, FitResult, SplitWindows, fit
from fase.training.forecast import FORECAST_DIR, FORECAST_FILE, forecast_span, write_forecast
from fase.training.memory import keep_freed_memory
from fase.training.windows import CountSeries, window_starts

FORECAST_SPLITS = ("val", "test")


def split_windows(split: dict[str, tuple[int, int]], config: TrainingConfig) -> SplitWindows:
    """Window starts of each split: ``config.window`` bins every ``config.stride`` bins."""
    train, val, test = (
        window_starts(*split[name], config.window, config.stride)
        for name in ("train", "val", "test")
    )
    return SplitWindows(train, val, test)


def build_fase_model(cfg: RunConfig, graph: Graph, tensors: Tensors) -> FASEModel:
    """FASE on the run's graph (A_combined for diffusion, A_geo for the Hawkes mask).

    Seeds the global torch RNG with ``cfg.seed`` first, so the initial weights and the
    dropout draws that follow are reproducible.
    """
    torch.manual_seed(cfg.seed)
    return FASEModel.from_graph(
        torch.as_tensor(graph.A_combined, dtype=torch.float32),
        torch.as_tensor(graph.A_geo, dtype=torch.float32),
        cfg.model,
        num_features=tensors.x.shape[-1],
        hawkes_window_bins=cfg.model.hawkes_window_bins(tensors.meta["bin"]),
    )


def forecast_warmup(model: FASEModel) -> int:
    """Context bins a full-sequence forecast needs: R − 1 for the STGNN's receptive field
    R, and at least H when the Hawkes history restarts at every pass (it then sees the H
    counts before each bin from the pass itself, as with carried history)."""
    warmup = model.config.receptive_field - 1
    if model.hawkes is not None and model.hawkes.history == "restart":
        warmup = max(warmup, model.hawkes.window)
    return warmup


def load_run_config(run_dir: str | Path) -> RunConfig:
    """The resolved configuration a run saved in ``config.yaml``."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise FaseInputError(path, "not found", "is this a run directory written by `fase train`?")
    return RunConfig.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def _check_same_data_method(cfg: RunConfig, run_dir: Path) -> None:
    """Refuse to train on existing data built with another dataset or data/graph method."""
    if not (run_dir / "config.yaml").is_file():
        return
    saved = load_run_config(run_dir)
    differing = [
        name for name in ("dataset", "data", "graph") if getattr(saved, name) != getattr(cfg, name)
    ]
    if differing:
        raise FaseInputError(
            run_dir / "config.yaml",
            f"the run's data were built with another {' and '.join(differing)} configuration",
            "train into a new --out directory, or with the config the data were built with",
        )


@dataclass(frozen=True)
class TrainingRun:
    """What :func:`train_run` did: the fit (model left with the scored weights) and outputs."""

    fit: FitResult
    model: FASEModel
    forecast_path: Path
    data_built: bool


def train_run(
    cfg: RunConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    progress: bool | None = None,
    on_epoch_end: EpochCallback | None = None,
) -> TrainingRun:
    """Train FASE on a run directory and write its checkpoints, log and forecasts.

    Sets the torch thread count to ``cfg.training.threads`` and keeps freed memory for
    reuse (:func:`~fase.training.memory.keep_freed_memory`); builds Phases 1–2 into the
    run directory when ``data/`` or ``graph/`` is missing. Inputs are the features
    standardised with the training statistics (``Tensors.scaled_x``). With
    ``model.placement`` the model trains and forecasts split across two devices
    (:class:`~fase.models.split.SplitFASE`) and is returned on the CPU.
    """
    run_dir = Path(run_dir)
    if cfg.model.placement is not None and current_sharding().distributed:
        raise FaseInputError(
            "model.placement",
            "a model split across devices cannot also train data-parallel (--nproc)",
            "train in one process, or drop model.placement",
        )
    configure_threads(cfg.training.threads)
    keep_freed_memory()
    data_built = False
    if not has_data_phases(run_dir):
        if resume:
            raise FaseInputError(run_dir, "has no data/ or graph/ to resume from")
        run_data_phases(cfg, run_dir)
        data_built = True
    elif not resume:
        _check_same_data_method(cfg, run_dir)
    if not resume:
        write_text(run_dir / "config.yaml", config_to_yaml(cfg))
    tensors = Tensors.load(run_dir / "data")
    graph = Graph.load(run_dir / "graph" / "graph.npz")
    model = build_fase_model(cfg, graph, tensors)
    forecaster = split_by_placement(model, cfg.model.placement)
    series = CountSeries(tensors.scaled_x(), tensors.y, model.history_steps)
    result = fit(
        forecaster,
        series,
        split_windows(tensors.split, cfg.training),
        cfg.training,
        seed=cfg.seed,
        out_dir=run_dir,
        resume=resume,
        progress=progress,
        on_epoch_end=on_epoch_end,
    )
    warmup = forecast_warmup(model)
    forecasts = {
        name: forecast_span(forecaster, series, *tensors.split[name], warmup=warmup)
        for name in FORECAST_SPLITS
    }
    model.cpu()  # a split model's parts back together, where fit returns a whole one
    path = write_forecast(
        run_dir / FORECAST_DIR / FORECAST_FILE,
        forecasts,
        np.asarray(tensors.bin_start, dtype=np.int64),
        cfg.model.distribution,
        cfg.model.likelihood_eps,
    )
    return TrainingRun(result, model, path, data_built)
