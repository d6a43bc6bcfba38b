"""Load a :class:`RunConfig` from shipped presets, shipped datasets and a user YAML.

Precedence (later wins): preset file → the preset's ``dataset_overrides`` and
``dataset_methods`` for this dataset → the user's YAML → explicit ``overrides`` (the
command line's options, including its ``dataset`` files).

``{data_root}`` in a dataset path is the folder of fetched datasets: ``$FASE_DATA_ROOT``
when set (a folder laid out like the cache, e.g. an institution's copy), else the user
cache (``platformdirs``) that ``fase datasets fetch`` fills.
"""

from __future__ import annotations

import copy
import os
from importlib import resources
from pathlib import Path
from typing import Any

import platformdirs
import yaml
from pydantic import ValidationError

from fase.config.dataset import BenchmarkConfig, DatasetConfig
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
    """Names of the shipped city dataset definitions (not the published benchmarks)."""
    return sorted(p.stem for p in DATASET_DIR.glob("*.yaml") if not _is_benchmark(p))


def available_benchmarks() -> list[str]:
    """Names of the shipped published benchmarks (``kind: benchmark``)."""
    return sorted(p.stem for p in DATASET_DIR.glob("*.yaml") if _is_benchmark(p))


def _is_benchmark(path: Path) -> bool:
    """Whether the dataset YAML ``path`` declares ``kind: benchmark``."""
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(content, dict) and content.get("kind") == "benchmark"


def load_benchmark_config(name: str) -> BenchmarkConfig:
    """The catalog entry of the shipped benchmark ``name`` (its files, sources, checksums)."""
    if name not in available_benchmarks():
        raise FaseInputError(
            "benchmark",
            f"unknown benchmark {name!r}",
            f"shipped benchmarks: {', '.join(available_benchmarks())}",
        )
    path = DATASET_DIR / f"{name}.yaml"
    data = _read_yaml(path)
    data["provenance"] = [resolve_path(p, path.parent) for p in data.get("provenance", [])]
    try:
        return BenchmarkConfig.model_validate(data)
    except ValidationError as exc:
        raise FaseInputError(
            f"datasets/{name}.yaml", f"invalid benchmark: {_format_validation_error(exc)}"
        ) from exc


def data_root() -> Path:
    """The folder of fetched datasets: ``$FASE_DATA_ROOT``, else the user cache
    (``~/.cache/fase/datasets`` on Linux)."""
    if os.environ.get(DATA_ROOT_ENV):
        return Path(os.environ[DATA_ROOT_ENV]).expanduser().resolve()
    return Path(platformdirs.user_cache_dir("fase")) / "datasets"


MAX_YAML_VALUES = 100_000
"""The most values a config may hold once its aliases are expanded (a shipped one holds
a few hundred): more is refused as a "billion laughs" alias bomb."""


def parse_yaml(text: str, source: str | Path) -> Any:
    """``yaml.safe_load`` of ``text`` that refuses what would exhaust the machine later:
    aliases expanding to more than :data:`MAX_YAML_VALUES` values, a structure that
    contains itself, or nesting too deep to read.

    Raises:
        FaseInputError: naming ``source``; also for text that is not YAML.
    """
    try:
        content = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FaseInputError(source, f"not valid YAML: {exc}") from exc
    except RecursionError:
        raise FaseInputError(source, "is nested too deeply to be a config") from None
    _count_values(content, source, {}, set())
    return content


def _count_values(node: Any, source: str | Path, seen: dict[int, int], open_: set[int]) -> int:
    """Values in ``node`` with every alias expanded (shared parts are counted once per
    use, computed once); raise once the count passes :data:`MAX_YAML_VALUES`."""
    if not isinstance(node, (dict, list)):
        return 1
    key = id(node)
    if key in seen:
        return seen[key]
    if key in open_:
        raise FaseInputError(source, "contains itself (a recursive YAML alias)")
    if len(open_) > 200:
        raise FaseInputError(source, "is nested too deeply to be a config")
    open_.add(key)
    total = 1
    for child in node.values() if isinstance(node, dict) else node:
        total += _count_values(child, source, seen, open_)
        if total > MAX_YAML_VALUES:
            raise FaseInputError(
                source,
                f"expands to more than {MAX_YAML_VALUES:,} values through YAML aliases "
                "(a 'billion laughs' bomb?)",
                "write the config without anchors (&) and aliases (*) repeating large parts",
            )
    open_.discard(key)
    seen[key] = total
    return total


def _read_yaml(path: Path) -> dict[str, Any]:
    if path.is_dir():
        raise FaseInputError(path, "is a folder, not a YAML file")
    if not path.is_file():
        raise FaseInputError(path, "config file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FaseInputError(path, f"cannot be read as UTF-8 text ({exc})") from exc
    content = parse_yaml(text, path)
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
        raw = raw.replace("{data_root}", str(data_root()))
    path = Path(raw).expanduser()
    return str(path if path.is_absolute() else (relative_to / path).resolve())


def _resolve_dataset_paths(
    dataset: dict[str, Any], relative_to: Path, source: Path | str = "dataset"
) -> dict[str, Any]:
    dataset = copy.deepcopy(dataset)
    for section in ("incidents", "areas", "demographics"):
        part = dataset.get(section)
        if isinstance(part, dict) and isinstance(part.get("path"), str):
            part["path"] = resolve_path(part["path"], relative_to)
    territory = (dataset.get("areas") or {}).get("territory")
    if isinstance(territory, dict) and isinstance(territory.get("path"), str):
        territory["path"] = resolve_path(territory["path"], relative_to)
    provenance = dataset.get("provenance") or []
    if not isinstance(provenance, list) or not all(isinstance(p, str) for p in provenance):
        raise FaseInputError(source, "dataset.provenance must be a list of file paths")
    dataset["provenance"] = [resolve_path(p, relative_to) for p in provenance]
    return dataset


def _load_dataset(
    spec: str | dict[str, Any], relative_to: Path, source: Path | str
) -> dict[str, Any]:
    """A dataset given by name, by YAML path, or inline (optionally ``base: NAME`` + overrides)."""
    if isinstance(spec, str):
        shipped = DATASET_DIR.glob("*.yaml")
        path = next((p for p in shipped if p.stem == spec), relative_to / spec)  # name or path
        if path.parent == DATASET_DIR and _is_benchmark(path):
            raise FaseInputError(
                source,
                f"{spec!r} is a published benchmark, not a city dataset",
                f"run it with `fase compare --benchmark {spec}`",
            )
        if not path.is_file():
            raise FaseInputError(
                source,
                f"unknown dataset {spec!r}",
                f"shipped datasets: {', '.join(available_datasets())}",
            )
        return _resolve_dataset_paths(_read_yaml(path), path.parent, path)
    if not isinstance(spec, dict):
        raise FaseInputError(source, "'dataset' must be a name or a mapping")
    spec = dict(spec)
    base_name = spec.pop("base", None)
    base = _load_dataset(base_name, relative_to, source) if base_name else {}
    return deep_merge(base, _resolve_dataset_paths(spec, relative_to, source))


def load_dataset(name: str) -> DatasetConfig:
    """The definition of the shipped dataset ``name`` (or of a dataset YAML file), with its
    paths resolved."""
    data = _load_dataset(name, Path.cwd(), "dataset")
    try:
        return DatasetConfig.model_validate(data)
    except ValidationError as exc:
        source = f"datasets/{name}.yaml" if name in available_datasets() else name
        raise FaseInputError(source, f"invalid dataset: {_format_validation_error(exc)}") from exc


def _with_files(
    dataset: dict[str, Any], files: dict[str, Any], spec: str | dict[str, Any]
) -> dict[str, Any]:
    """The dataset with the command line's files (``--incidents``, ``--polygons``,
    ``--demographics``) in place of its own (see :func:`load_config`)."""
    described = spec if isinstance(spec, dict) else {}
    dataset = deep_merge(dataset, {k: v for k, v in files.items() if k != "incidents"})
    if "incidents" in files:
        if "incidents" in described:  # the user's YAML says how to read their file
            dataset = deep_merge(dataset, {"incidents": files["incidents"]})
        else:
            dataset["incidents"] = {**files["incidents"], "format": "auto"}
            if "calendar" not in described:
                dataset["calendar"] = None
    return dataset


def _load_preset(path: Path) -> dict[str, Any]:
    """A preset file; ``base: NAME`` makes it inherit another preset."""
    data = _read_yaml(path)
    base = data.pop("base", None)
    if base is None:
        return data
    base_file = PRESET_DIR / f"{base}.yaml"
    if base not in available_presets() or base_file == path:
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
        overrides: a final nested mapping merged on top (used by the CLI and tests). Its
            ``dataset`` part holds files given on the command line (``incidents``,
            ``areas``, ``demographics``, each ``{"path": …}``): they replace the paths of
            the dataset. An incidents file that the user's YAML does not describe is read
            as ``format: auto`` (recognised by its header) over the span of its own
            incidents unless the YAML sets a ``calendar``.
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
    if preset_name not in available_presets():  # a name, never a path
        raise FaseInputError(
            source,
            f"unknown preset {preset_name!r}",
            f"available presets: {', '.join(available_presets())}",
        )
    preset_data = _load_preset(preset_file)
    dataset_overrides = preset_data.pop("dataset_overrides", {}) or {}

    dataset_methods = preset_data.pop("dataset_methods", {}) or {}

    overrides = copy.deepcopy(overrides or {})
    files = overrides.pop("dataset", None) or {}
    dataset_spec = dataset if dataset is not None else user.pop("dataset", "chicago")
    user.pop("dataset", None)
    dataset_source = "--dataset" if dataset is not None else source
    dataset_data = _load_dataset(dataset_spec, user_dir, dataset_source)
    name = dataset_data.get("name", "")
    if name in dataset_overrides:
        dataset_data = deep_merge(
            dataset_data, _resolve_dataset_paths(dataset_overrides[name], PRESET_DIR)
        )
    dataset_data = _with_files(dataset_data, files, dataset_spec)

    merged = deep_merge(preset_data, dataset_methods.get(name, {}) or {})
    merged = deep_merge(merged, user)
    merged = deep_merge(merged, overrides)
    merged["dataset"] = dataset_data
    merged["preset"] = preset_name
    try:
        return RunConfig.model_validate(merged)
    except ValidationError as exc:
        raise FaseInputError(
            source, f"invalid configuration: {_format_validation_error(exc)}"
        ) from exc
