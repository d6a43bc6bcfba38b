"""Check that two run directories hold the same numbers (a refactoring changed no behaviour).

    python benchmarks/same_artefacts.py RUN_A RUN_B

Compares every numeric artefact of ``fase run`` that exists in RUN_A — tensors, graph,
training log, checkpoints' weights, forecast, evaluation, allocations, simulation
histories and per-area arrays, the policy study — with RUN_B's, bit for bit. Wall times
(``seconds``), timestamps and machine paths are left out. Files that only RUN_B has,
and keys that only RUN_B's JSON files have (artefacts and fields added since RUN_A was
written), are listed or passed over, not counted as differences.

Prints one row per artefact (same / DIFFERENT / missing) and exits with status 1 when
any artefact differs or is missing from RUN_B.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

# Keys and columns that hold wall times, dates or paths of the machine that wrote the run.
VOLATILE = ("seconds", "risk_file", "period_start_time", "at", "time")
ARRAY_FILES = ("*.npz",)
TABLE_FILES = ("*.csv",)
JSON_FILES = ("*.json",)
CHECKPOINTS = ("checkpoints/*.pt",)
SKIPPED_DIRS = ("report",)  # figures and HTML: drawn from the artefacts compared here


def _volatile(key: str) -> bool:
    return key in VOLATILE or "seconds" in key


def _strip(value: Any) -> Any:
    """``value`` with every volatile key removed, recursively."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not _volatile(str(k))}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _same_json(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):  # B may record more than A
        return all(k in b and _same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def same_arrays(a: Path, b: Path) -> bool:
    """Every array of ``a`` is in ``b`` with the same dtype, shape and bits (NaN = NaN)."""
    with np.load(a, allow_pickle=False) as left, np.load(b, allow_pickle=False) as right:
        for key in left.files:
            if key not in right.files:
                return False
            x, y = left[key], right[key]
            if x.dtype != y.dtype or x.shape != y.shape:
                return False
            if x.dtype.kind in "fc":
                if not np.array_equal(x, y, equal_nan=True):
                    return False
            elif not np.array_equal(x, y):
                return False
    return True


def same_table(a: Path, b: Path) -> bool:
    """The same columns (volatile ones dropped) with the same values, read as text."""
    left, right = (pd.read_csv(p, dtype=str, keep_default_na=False) for p in (a, b))
    keep = [c for c in left.columns if not _volatile(c)]
    return list(keep) == [c for c in right.columns if not _volatile(c)] and left[keep].equals(
        right[keep]
    )


def same_json(a: Path, b: Path) -> bool:
    load = lambda p: _strip(json.loads(p.read_text(encoding="utf-8")))  # noqa: E731
    return _same_json(load(a), load(b))


def same_checkpoint(a: Path, b: Path) -> bool:
    """The same model weights (optimizer and RNG states follow from them)."""
    left = torch.load(a, map_location="cpu", weights_only=True)["model"]
    right = torch.load(b, map_location="cpu", weights_only=True)["model"]
    return left.keys() == right.keys() and all(torch.equal(left[k], right[k]) for k in left)


def artefacts(run: Path) -> Iterator[tuple[Path, str]]:
    """(relative path, kind) of every compared artefact of ``run``."""
    groups = (
        (ARRAY_FILES, "arrays"),
        (TABLE_FILES, "table"),
        (JSON_FILES, "json"),
        (CHECKPOINTS, "checkpoint"),
    )
    for patterns, kind in groups:
        for pattern in patterns:
            for path in sorted(run.rglob(pattern) if "/" not in pattern else run.glob(pattern)):
                relative = path.relative_to(run)
                if relative.parts[0] in SKIPPED_DIRS or relative.name == "run_info.json":
                    continue
                yield relative, kind


COMPARE = {
    "arrays": same_arrays,
    "table": same_table,
    "json": same_json,
    "checkpoint": same_checkpoint,
}


def compare_runs(run_a: Path, run_b: Path) -> list[tuple[str, str]]:
    """(artefact, verdict) rows: ``same``, ``DIFFERENT``, ``missing`` or ``new``."""
    rows = []
    seen = set()
    for relative, kind in artefacts(run_a):
        seen.add(relative)
        other = run_b / relative
        if not other.is_file():
            rows.append((str(relative), "missing"))
            continue
        rows.append(
            (str(relative), "same" if COMPARE[kind](run_a / relative, other) else "DIFFERENT")
        )
    rows += [(str(relative), "new") for relative, _ in artefacts(run_b) if relative not in seen]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_a", type=Path)
    parser.add_argument("run_b", type=Path)
    args = parser.parse_args(argv)
    rows = compare_runs(args.run_a, args.run_b)
    width = max(len(name) for name, _ in rows)
    for name, verdict in rows:
        print(f"{name:<{width}}  {verdict}")
    bad = [name for name, verdict in rows if verdict in ("DIFFERENT", "missing")]
    print(
        f"\n{len(rows) - len(bad)} of {len(rows)} artefacts match"
        + ("" if not bad else f"; {len(bad)} do not")
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
