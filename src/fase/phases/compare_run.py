"""``fase compare`` on a dataset: Phases 1–2 (with crime-type channels), then
:func:`fase.zoo.compare.compare` into one output directory with its resolved config."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from fase.config import RunConfig
from fase.config.training import TrainingConfig
from fase.phases import ensure_data_phases
from fase.runinfo import write_run_info
from fase.runtime import configure_threads
from fase.zoo.compare import Comparison, compare
from fase.zoo.data import ForecastData
from fase.zoo.registry import ZooSettings

# The comparison's shared training budget (every neural model): a fixed, modest number of
# epochs with early stopping, so that 3 seeds × all models fit in 30 min on 2 cores.
COMPARE_TRAINING = {"epochs": 6, "early_stopping_patience": 3, "plateau_patience": 2}
# --quick: two epochs on every 8th window (a smoke run, not a result).
QUICK_TRAINING = {"epochs": 2, "stride": 256, "early_stopping_patience": None}


def compare_training(cfg: RunConfig, quick: bool, epochs: int | None) -> TrainingConfig:
    """The run's training section with the comparison's budget (``epochs`` overrides it)."""
    update: dict[str, object] = dict(QUICK_TRAINING if quick else COMPARE_TRAINING)
    if epochs is not None:
        update["epochs"] = epochs
    return cfg.training.model_copy(update=update)


def run_compare(
    cfg: RunConfig,
    out_dir: Path,
    models: Sequence[str],
    seeds: int,
    *,
    quick: bool = False,
    epochs: int | None = None,
    explain: bool = True,
    workers: int | None = None,
    say: Callable[[str], None] = lambda _msg: None,
) -> Comparison:
    """Build the data (if ``out_dir`` has none), compare ``models`` over ``seeds`` seeds
    (``cfg.seed``, ``cfg.seed + 1``, …) and write ``config.yaml``, ``run_info.json``
    and the leaderboard files (and with ``explain`` the attributions) into ``out_dir``.

    ``workers``: processes of one torch thread each that share the fits (default
    ``training.threads``: as many one-thread processes as the run's threads); 1: every
    fit in this process with ``training.threads`` threads."""
    cfg = cfg.model_copy(
        update={
            "data": cfg.data.model_copy(update={"crime_type_channels": True}),
            "training": compare_training(cfg, quick, epochs),
        }
    )
    configure_threads(cfg.training.threads)
    workers = cfg.training.threads if workers is None else workers
    ensure_data_phases(cfg, out_dir, say)
    write_run_info(
        out_dir,
        cfg,
        "compare",
        {"models": list(models), "seeds": seeds, "quick": quick, "workers": workers},
    )
    data = ForecastData.from_run(out_dir, cfg.dataset.areas.projected_crs)
    settings = ZooSettings(training=cfg.training, quick=quick)
    seed_list = [cfg.seed + k for k in range(seeds)]
    return compare(
        data, models, seed_list, settings, out_dir, say=say, explain=explain, workers=workers
    )
