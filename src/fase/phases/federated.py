"""``fase federated`` on a run directory: build the data unless it is there, then the
federated experiment of the run's ``federated`` section (:func:`fase.federated.federate`)."""

from __future__ import annotations

from pathlib import Path

from fase.config import RunConfig
from fase.federated import FederatedResult, federate
from fase.forecasters import ForecastData
from fase.phases.compare import budget_training
from fase.phases.data import ensure_data_phases
from fase.progress import Say, silent
from fase.rundir import RunDir
from fase.runtime import configure_threads


def run_federated(
    cfg: RunConfig,
    out_dir: Path,
    *,
    quick: bool = False,
    say: Say = silent,
    verbose: bool = False,
) -> FederatedResult:
    """Build the data (if ``out_dir`` has none), then federate with the run's training
    section (``quick``: the comparison's quick budget's windows and small networks);
    writes ``config.yaml`` and ``run_info.json`` too."""
    configure_threads(cfg.training.threads)
    ensure_data_phases(cfg, out_dir, say)
    data = ForecastData.from_run(out_dir, cfg.dataset.areas.projected_crs)
    quick_budget = cfg.compare.quick_budget
    training = budget_training(cfg.training, quick_budget, data, None) if quick else cfg.training
    config = cfg.federated
    RunDir(out_dir).record(
        cfg,
        "federated",
        {**config.model_dump(), "quick": quick, "workers": cfg.training.threads},
    )
    return federate(
        data,
        config,
        training,
        out_dir,
        seed=cfg.seed,
        model=cfg.model,
        quick=quick,
        workers=cfg.training.threads,
        say=say,
        verbose=verbose,
    )
