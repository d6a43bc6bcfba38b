"""Load a :class:`RunConfig` from shipped presets, shipped datasets and a user YAML.

Precedence (later wins): preset file → the preset's ``dataset_overrides`` for
this dataset → the user's YAML → explicit ``overrides``.
"""

from __future__ import annotations

import copy
import os
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from fase.config.method import RunConfig
from fase.errors import FaseInputError

PACKAGE_ROOT = Path(str(resources.files("fase")))
PRESET_DIR = PACKAGE_ROOT / "presets"
DATASET_DIR = PACKAGE_ROOT / "datasets"
EMBEDDED_DIR = PACKAGE_ROOT / "embedded"
DATA_ROOT_ENV = "FASE_DATA_ROOT"


def available_presets() -> list[str]:
    """Names of the shipped method presets."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def available_datasets() -> list[str]:
    """Names of the shipped dataset definitions."""
    return sorted(p.stem for p in DATASET_DIR.glob("*.yaml"))


def data_root() -> Path | None:
    """The shared real-data folder: ``$FASE_DATA_ROOT``, else ``../shared/data`` near here."""
    if os.environ.get(DATA_ROOT_ENV):
        return Path(os.environ[DATA_ROOT_ENV]).expanduser().resolve()
    for base in (Path.cwd(), PACKAGE_ROOT.parents[1]):
        candidate = (base / ".." / "shared" / "data").resolve()
        if candidate.is_dir():
            return candidate
    return None


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FaseInputError(path, "config file not found")
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise FaseInputError(path, f"not valid YAML: {exc}") from exc
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise FaseInputError(path, "top level must be a mapping of keys to values")
    return content


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Recursively merge ``update`` into a copy of ``base`` (mappings merge, others replace)."""
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def resolve_path(raw: str, relative_to: Path) -> str:
    """Expand ``embedded:``, ``{data_root}`` and ``~``; make relative paths absolute.
    URLs (``s3://…``, ``file://…``) are kept as they are."""
    if "://" in raw:
        return raw
    if raw.startswith("embedded:"):
        return str(EMBEDDED_DIR / raw.removeprefix("embedded:"))
    if "{data_root}" in raw:
        root = data_root()
        if root is None:
            return raw  # left unresolved: reading it raises a clear error naming FASE_DATA_ROOT
        raw = raw.replace("{data_root}", str(root))
    path = Path(raw).expanduser()
    return str(path if path.is_absolute() else (relative_to / path).resolve())


def _resolve_dataset_paths(dataset: dict[str, Any], relative_to: Path) -> dict[str, Any]:
    dataset = copy.deepcopy(dataset)
    for section in ("incidents", "areas", "demographics"):
        part = dataset.get(section)
        if isinstance(part, dict) and isinstance(part.get("path"), str):
            part["path"] = resolve_path(part["path"], relative_to)
    dataset["provenance"] = [resolve_path(p, relative_to) for p in dataset.get("provenance", [])]
    return dataset


def _load_dataset(
    spec: str | dict[str, Any], relative_to: Path, source: Path | str
) -> dict[str, Any]:
    """A dataset given by name, by YAML path, or inline (optionally ``base: NAME`` + overrides)."""
    if isinstance(spec, str):
        named = DATASET_DIR / f"{spec}.yaml"
        path = named if named.is_file() else (relative_to / spec)
        if not path.is_file():
            raise FaseInputError(
                source,
                f"unknown dataset {spec!r}",
                f"shipped datasets: {', '.join(available_datasets())}",
            )
        return _resolve_dataset_paths(_read_yaml(path), path.parent)
    if not isinstance(spec, dict):
        raise FaseInputError(source, "'dataset' must be a name or a mapping")
    spec = dict(spec)
    base_name = spec.pop("base", None)
    base = _load_dataset(base_name, relative_to, source) if base_name else {}
    return deep_merge(base, _resolve_dataset_paths(spec, relative_to))


def _load_preset(path: Path) -> dict[str, Any]:
    """A preset file; ``base: NAME`` makes it inherit another preset."""
    data = _read_yaml(path)
    base = data.pop("base", None)
    if base is None:
        return data
    base_file = PRESET_DIR / f"{base}.yaml"
    if not base_file.is_file() or base_file == path:
        raise FaseInputError(path, f"unknown base preset {base!r}")
    return deep_merge(_load_preset(base_file), data)


def _format_validation_error(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"field '{where}': {err['msg']}")
    return "; ".join(lines)


def load_config(
    dataset: str | None = None,
    preset: str | None = None,
    config_path: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> RunConfig:
    """Build and validate the run configuration.

    Args:
        dataset: a shipped dataset (``chicago``, ``baltimore``, ``nyc``, ``la-westla``) or a YAML.
        preset: method preset (``default``, ``paper``, ``quick``).
        config_path: a user YAML with any of ``dataset``, ``preset``, ``seed`` and sections.
        overrides: a final nested mapping merged on top (used by the CLI and tests).
    """
    user: dict[str, Any] = {}
    user_dir = Path.cwd()
    source: Path | str = "config"
    if config_path is not None:
        source = Path(config_path)
        user = _read_yaml(source)
        user_dir = source.resolve().parent
    preset_name = preset or user.pop("preset", None) or "default"
    user.pop("preset", None)
    preset_file = PRESET_DIR / f"{preset_name}.yaml"
    if not preset_file.is_file():
        raise FaseInputError(
            source,
            f"unknown preset {preset_name!r}",
            f"available presets: {', '.join(available_presets())}",
        )
    preset_data = _load_preset(preset_file)
    dataset_overrides = preset_data.pop("dataset_overrides", {}) or {}

    dataset_spec = dataset if dataset is not None else user.pop("dataset", "chicago")
    user.pop("dataset", None)
    dataset_data = _load_dataset(dataset_spec, user_dir, source)
    name = dataset_data.get("name", "")
    if name in dataset_overrides:
        dataset_data = deep_merge(
            dataset_data, _resolve_dataset_paths(dataset_overrides[name], PRESET_DIR)
        )

    merged = deep_merge(preset_data, user)
    merged = deep_merge(merged, overrides or {})
    merged["dataset"] = dataset_data
    merged["preset"] = preset_name
    try:
        return RunConfig.model_validate(merged)
    except ValidationError as exc:
        raise FaseInputError(
            source, f"invalid configuration: {_format_validation_error(exc)}"
        ) from exc
