"""Run directories: every run writes its resolved config, package versions and seed
next to its outputs."""

from __future__ import annotations

import datetime as dt
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from fase.config import RunConfig
from fase.io import read_json, write_json, write_text

PACKAGES = (
    "fase", "torch", "torch-geometric", "numpy", "pandas", "pyarrow", "geopandas", "shapely",
    "pyogrio", "libpysal", "scipy", "highspy", "fairlearn", "pydantic", "matplotlib",
)  # fmt: skip


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


def write_run_info(
    run_dir: str | Path, cfg: RunConfig, command: str, extra: dict[str, Any] | None = None
) -> None:
    """Write ``config.yaml`` (resolved) and merge this command into ``run_info.json``."""
    run_dir = Path(run_dir)
    write_text(run_dir / "config.yaml", config_to_yaml(cfg))
    info_path = run_dir / "run_info.json"
    info = read_json(info_path) if info_path.is_file() else {"commands": []}
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
    write_json(info_path, info)
