"""The run directory: where every artefact of a run lives, and the run's record.

Every phase reads the artefacts of the phases before it from the run directory and
writes its own there, so any phase can be re-run or inspected alone. :class:`RunDir`
is the one place that spells the layout (no other module names an artefact file)::

    RUN_DIR/
      config.yaml  run_info.json                 resolved config; commands, versions, seed
      data/        tensors.npz meta.json areas.geojson table1.{md,json}     Phase 1
      graph/       graph.npz graph_stats.{md,json}                          Phase 2
      checkpoints/ best.pt last.pt   training_log.csv                      Phase 3 (networks)
      model/       forecaster.json state.npz                               Phase 3 (any model)
      forecast/    forecast.npz                                            Phase 3
      evaluation/  evaluation.{json,md}                                    Phase 3
      allocation/  <policy>/{allocation.npz,metrics.csv,summary.{json,md}}  tradeoff.csv
      simulation/  <scenario>/{history.csv,history.json,history_replicates.csv,
                   simulation_history.csv,per_area.npz}  policy_study.{csv,md}   Phase 5
      report/      report.html figures/ maps/
      serve/       incidents.sqlite                                        fase serve
      leaderboard.{csv,md,json,png,pdf} runs.csv per_type.csv              fase compare
      level_confusion.csv tuning.csv models/<model>/<seed>/ explanations/<model>/
      summary.{json,md} rounds.csv clients.csv partition.csv global_weights.npz
      centralised/                                                         fase federated

Every run writes its resolved config, package versions and seed next to its outputs
(:meth:`RunDir.record`).
"""

from __future__ import annotations

import datetime as dt
import platform
import sys
import zipfile
import zlib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import ValidationError

from fase.config import RunConfig
from fase.config.loader import parse_yaml
from fase.errors import FaseInputError
from fase.io import read_json, read_npz, write_json, write_text

PACKAGES = (
    "fase", "torch", "torch-geometric", "numpy", "pandas", "pyarrow", "geopandas", "shapely",
    "pyogrio", "libpysal", "scipy", "highspy", "fairlearn", "pydantic", "matplotlib",
)  # fmt: skip


@dataclass(frozen=True)
class AllocationFiles:
    """``allocation/<policy>/``: patrols (T, N), per-step metrics and their summary."""

    directory: Path

    @property
    def patrol(self) -> Path:
        return self.directory / "allocation.npz"

    @property
    def metrics(self) -> Path:
        return self.directory / "metrics.csv"

    @property
    def summary_json(self) -> Path:
        return self.directory / "summary.json"

    @property
    def summary_md(self) -> Path:
        return self.directory / "summary.md"

    def exists(self) -> bool:
        return self.summary_md.is_file() or self.patrol.is_file()


@dataclass(frozen=True)
class ScenarioFiles:
    """``simulation/<scenario>/``: one simulated deployment (see fase.simulation.artefacts)."""

    directory: Path

    @property
    def name(self) -> str:
        return self.directory.name

    @property
    def history(self) -> Path:
        return self.directory / "history.csv"

    @property
    def history_json(self) -> Path:
        return self.directory / "history.json"

    @property
    def replicates(self) -> Path:
        return self.directory / "history_replicates.csv"

    @property
    def paper_history(self) -> Path:
        """The reference code's columns (paper mode), also the reference's own file name."""
        return self.directory / "simulation_history.csv"

    @property
    def per_area(self) -> Path:
        return self.directory / "per_area.npz"

    def history_file(self) -> Path | None:
        """``history.csv``, else the reference's ``simulation_history.csv``, else None."""
        return next((p for p in (self.history, self.paper_history) if p.is_file()), None)


class RunDir:
    """The artefact paths of one run directory (module docstring); nothing is created."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"RunDir({str(self.root)!r})"

    def __truediv__(self, other: str) -> Path:
        return self.root / other

    # -- the run's record -------------------------------------------------------------
    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def info(self) -> Path:
        return self.root / "run_info.json"

    # -- Phase 1: data ----------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def tensors(self) -> Path:
        return self.data_dir / "tensors.npz"

    @property
    def meta(self) -> Path:
        return self.data_dir / "meta.json"

    @property
    def areas(self) -> Path:
        return self.data_dir / "areas.geojson"

    @property
    def dataset_table_md(self) -> Path:
        return self.data_dir / "table1.md"

    @property
    def dataset_table_json(self) -> Path:
        return self.data_dir / "table1.json"

    # -- Phase 2: graph ---------------------------------------------------------------
    @property
    def graph(self) -> Path:
        return self.root / "graph" / "graph.npz"

    @property
    def graph_stats_md(self) -> Path:
        return self.graph.parent / "graph_stats.md"

    @property
    def graph_stats_json(self) -> Path:
        return self.graph.parent / "graph_stats.json"

    # -- Phase 3: training, the trained model, forecasts, evaluation ------------------
    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def best_checkpoint(self) -> Path:
        return self.checkpoints / "best.pt"

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoints / "last.pt"

    @property
    def training_log(self) -> Path:
        return self.root / "training_log.csv"

    @property
    def forecaster_info(self) -> Path:
        """Which registered model the run trained, and its size."""
        return self.root / "model" / "forecaster.json"

    @property
    def forecaster_state(self) -> Path:
        """The fitted model's arrays (networks: the best checkpoint's weights)."""
        return self.root / "model" / "state.npz"

    @property
    def forecast(self) -> Path:
        return self.root / "forecast" / "forecast.npz"

    @property
    def evaluation_json(self) -> Path:
        return self.root / "evaluation" / "evaluation.json"

    @property
    def evaluation_md(self) -> Path:
        return self.root / "evaluation" / "evaluation.md"

    # -- Phase 4: allocation ----------------------------------------------------------
    @property
    def allocation_root(self) -> Path:
        return self.root / "allocation"

    def allocation(self, policy: str) -> AllocationFiles:
        return AllocationFiles(self.allocation_root / policy)

    def allocations(self) -> list[AllocationFiles]:
        """``allocation/<policy>/`` folders holding a summary or an allocation, sorted."""
        if not self.allocation_root.is_dir():
            return []
        found = (AllocationFiles(p) for p in sorted(self.allocation_root.iterdir()) if p.is_dir())
        return [files for files in found if files.exists()]

    @property
    def tradeoff(self) -> Path:
        return self.allocation_root / "tradeoff.csv"

    # -- Phase 5: simulation ----------------------------------------------------------
    @property
    def simulation_root(self) -> Path:
        return self.root / "simulation"

    def scenario(self, name: str) -> ScenarioFiles:
        return ScenarioFiles(self.simulation_root / name)

    @property
    def policy_study_csv(self) -> Path:
        return self.simulation_root / "policy_study.csv"

    @property
    def policy_study_md(self) -> Path:
        return self.simulation_root / "policy_study.md"

    # -- report and service -----------------------------------------------------------
    @property
    def report_dir(self) -> Path:
        return self.root / "report"

    @property
    def report(self) -> Path:
        return self.report_dir / "report.html"

    @property
    def figures(self) -> Path:
        return self.report_dir / "figures"

    @property
    def maps(self) -> Path:
        return self.report_dir / "maps"

    @property
    def incidents_db(self) -> Path:
        return self.root / "serve" / "incidents.sqlite"

    # -- fase compare -----------------------------------------------------------------
    @property
    def leaderboard_csv(self) -> Path:
        return self.root / "leaderboard.csv"

    @property
    def leaderboard_md(self) -> Path:
        return self.root / "leaderboard.md"

    @property
    def leaderboard_json(self) -> Path:
        return self.root / "leaderboard.json"

    @property
    def leaderboard_figure(self) -> Path:
        """Stem of the leaderboard figure (``.png`` and ``.pdf``)."""
        return self.root / "leaderboard"

    @property
    def compare_runs(self) -> Path:
        return self.root / "runs.csv"

    @property
    def per_type_scores(self) -> Path:
        return self.root / "per_type.csv"

    @property
    def level_confusion(self) -> Path:
        return self.root / "level_confusion.csv"

    @property
    def tuning(self) -> Path:
        return self.root / "tuning.csv"

    def model_fit(self, model: str, seed: int) -> RunDir:
        """Where one (model, seed) fit of a comparison keeps its checkpoints and log."""
        return RunDir(self.root / "models" / model / str(seed))

    def explanations(self, model: str) -> Path:
        return self.root / "explanations" / model

    # -- fase federated ---------------------------------------------------------------
    @property
    def federated_summary_json(self) -> Path:
        return self.root / "summary.json"

    @property
    def federated_summary_md(self) -> Path:
        return self.root / "summary.md"

    @property
    def federated_rounds(self) -> Path:
        return self.root / "rounds.csv"

    @property
    def federated_clients(self) -> Path:
        return self.root / "clients.csv"

    @property
    def federated_partition(self) -> Path:
        return self.root / "partition.csv"

    @property
    def federated_weights(self) -> Path:
        return self.root / "global_weights.npz"

    @property
    def centralised(self) -> RunDir:
        """The centrally trained comparison model's own checkpoints and log."""
        return RunDir(self.root / "centralised")

    # -- what the run holds -----------------------------------------------------------
    def has_data_phases(self) -> bool:
        """Whether the artefacts of Phases 1–2 (tensors and graph) are here."""
        return self.tensors.is_file() and self.meta.is_file() and self.graph.is_file()

    def require(self, *paths: Path, hint: str) -> None:
        """Raise :class:`FaseInputError` naming the first of ``paths`` that is missing."""
        for path in paths:
            if not path.is_file():
                raise FaseInputError(path, "not found", hint)

    def load_config(self) -> RunConfig:
        """The resolved configuration the run saved in ``config.yaml``."""
        self.require(self.config, hint="is this a run directory written by `fase`?")
        try:
            text = self.config.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise FaseInputError(self.config, f"cannot be read as UTF-8 text ({exc})") from exc
        content = parse_yaml(text, self.config)
        if not isinstance(content, dict):
            raise FaseInputError(self.config, "is not a run configuration (no mapping of keys)")
        try:
            return RunConfig.model_validate(content)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"]) or "(top level)"
            raise FaseInputError(
                self.config,
                f"is not a valid run configuration (field '{where}': {error['msg']})",
                "it is written by `fase`; run the command that made it again",
            ) from None

    def write_config(self, cfg: RunConfig) -> None:
        write_text(self.config, config_to_yaml(cfg))

    def _run_info(self) -> dict[str, Any]:
        info = load_json(self.info) if self.info.is_file() else {"commands": []}
        if not isinstance(info, dict) or not isinstance(info.get("commands"), list):
            raise FaseInputError(self.info, "is not a run record (no 'commands' list)")
        return info

    def log_command(self, command: str, extra: dict[str, Any] | None = None) -> None:
        """Add a command that used the run without changing its configuration (allocate,
        evaluate, simulate, report) to ``run_info.json``: every command is in the history."""
        info = self._run_info()
        info["commands"].append(
            {"command": command, "at": dt.datetime.now(dt.UTC).isoformat(), **(extra or {})}
        )
        write_json(self.info, info)

    def record(self, cfg: RunConfig, command: str, extra: dict[str, Any] | None = None) -> None:
        """Write ``config.yaml`` (resolved) and add this command to ``run_info.json``."""
        self.write_config(cfg)
        info = self._run_info()
        info.update(
            {
                "seed": cfg.seed,
                "preset": cfg.preset,
                "dataset": cfg.dataset.name,
                "versions": package_versions(),
                "platform": platform.platform(),
            }
        )
        info["commands"].append(
            {"command": command, "at": dt.datetime.now(dt.UTC).isoformat(), **(extra or {})}
        )
        write_json(self.info, info)


def load_arrays(path: Path, hint: str | None = None) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` artefact ``path`` (no pickle).

    Raises:
        FaseInputError: ``path`` is missing, truncated or not an ``.npz`` archive.
    """
    if not Path(path).is_file():
        raise FaseInputError(path, "not found", hint)
    try:
        return read_npz(path)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise FaseInputError(
            path, f"cannot be read as a NumPy .npz file ({exc}): truncated or corrupt?", hint
        ) from None


def load_json(path: Path, hint: str | None = None) -> Any:
    """The content of the JSON artefact ``path``.

    Raises:
        FaseInputError: ``path`` is missing, unreadable or not valid JSON.
    """
    if not Path(path).is_file():
        raise FaseInputError(path, "not found", hint)
    try:
        return read_json(path)
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError included
        raise FaseInputError(path, f"is not valid JSON ({exc})", hint) from None


def require_keys(path: Path, content: Any, keys: tuple[str, ...], hint: str | None = None) -> None:
    """Raise :class:`FaseInputError` unless ``content`` read from ``path`` is a mapping
    holding every one of ``keys`` (else it is an artefact of another kind or version)."""
    if not isinstance(content, dict):
        raise FaseInputError(path, "does not hold a mapping: not an artefact of this kind", hint)
    missing = [key for key in keys if key not in content]
    if missing:
        raise FaseInputError(
            path, f"lacks {', '.join(map(repr, missing))}: not an artefact of this kind", hint
        )


def package_versions() -> dict[str, str]:
    """Installed versions of the packages a result depends on."""
    versions = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def new_run_dir(root: str | Path = "runs", name: str | None = None) -> Path:
    """Create ``root/<name or UTC timestamp>`` (a numeric suffix avoids collisions)."""
    stamp = name or dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    base = Path(root) / stamp
    candidate, k = base, 1
    while candidate.exists():
        candidate, k = base.with_name(f"{stamp}-{k}"), k + 1
    candidate.mkdir(parents=True)
    return candidate


def config_to_yaml(cfg: RunConfig) -> str:
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
