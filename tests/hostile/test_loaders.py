"""The review's static findings, kept: user files are never deserialised by a loader that
can run code. Checkpoints are read with ``torch.load(weights_only=True)``, YAML with
``safe_load`` (through :func:`fase.config.loader.parse_yaml`), ``.npz`` files without
pickle, and the one pickle reader (published benchmark tensors) is the restricted
unpickler of :mod:`fase.data.benchmarks`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import fase

ROOT = Path(fase.__file__).parent
SOURCES = sorted(ROOT.rglob("*.py"))
RESTRICTED_UNPICKLER = ROOT / "data" / "benchmarks.py"


def calls(path: Path) -> list[tuple[str, ast.Call]]:
    """Every call in ``path`` as (dotted name of the callee, node)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            found.append((ast.unparse(node.func), node))
    return found


def keyword(call: ast.Call, name: str) -> object:
    for kw in call.keywords:
        if kw.arg == name and isinstance(kw.value, ast.Constant):
            return kw.value.value
    return None


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_loader_runs_code(path: Path) -> None:
    for name, call in calls(path):
        where = f"{path.relative_to(ROOT)}:{call.lineno}"
        if name == "torch.load":
            assert keyword(call, "weights_only") is True, f"{where}: torch.load, not weights_only"
        assert name not in {"yaml.load", "yaml.unsafe_load", "yaml.full_load", "yaml.load_all"}, (
            f"{where}: {name}; use parse_yaml (yaml.safe_load)"
        )
        if name in {"np.load", "numpy.load"}:
            assert keyword(call, "allow_pickle") is not True, f"{where}: np.load(allow_pickle=True)"
        if name in {"pickle.load", "pickle.loads", "pickle.Unpickler", "dill.load", "joblib.load"}:
            raise AssertionError(f"{where}: {name} on a file")
        if name.endswith("Unpickler(") or name.endswith("Unpickler"):
            assert path == RESTRICTED_UNPICKLER, f"{where}: an unpickler outside benchmarks.py"
