"""The house rules of ``src/fase`` (docs/design.md): every package sits on a layer, a
module imports only from its own package or from lower layers, and no modules import
each other in a circle. Imports inside functions and under ``TYPE_CHECKING`` count."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

import fase

ROOT = Path(fase.__file__).parent

# Lowest first. A package may import the packages of lower layers only; packages on the
# same layer are independent of each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "io", "progress", "runtime"),
    ("config", "tables"),
    ("rundir",),
    ("data", "report"),
    ("graph", "catalog"),
    ("models", "allocation"),
    ("evaluation",),
    ("training",),
    ("forecasters",),
    ("explain", "simulation", "federated"),
    ("phases",),
    ("serve",),
    ("cli",),
)
RANK = {package: rank for rank, packages in enumerate(LAYERS) for package in packages}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(module: str) -> str:
    """``fase.forecasters.neural`` → ``forecasters``; ``fase.io`` → ``io``."""
    return module.split(".")[1]


def imports(path: Path) -> set[str]:
    """Every ``fase`` module ``path`` imports, wherever the import statement stands."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("fase.")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("fase."):
            found.add(node.module)
    return found


def import_graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    for path in sorted(ROOT.rglob("*.py")):
        source = module_name(path)
        graph.add_node(source)
        for target in imports(path):
            graph.add_edge(source, target)
    return graph


GRAPH = import_graph()


def test_every_package_has_a_layer() -> None:
    packages = {package_of(m) for m in GRAPH if m != "fase"}
    assert packages <= set(RANK), sorted(packages - set(RANK))
    assert set(RANK) <= packages, sorted(set(RANK) - packages)


@pytest.mark.parametrize("package", sorted(RANK))
def test_packages_import_only_lower_layers(package: str) -> None:
    upward = sorted(
        f"{source} → {target}"
        for source, target in GRAPH.edges
        if source != "fase"
        and package_of(source) == package
        and package_of(target) != package
        and RANK[package_of(target)] >= RANK[package]
    )
    assert not upward, "\n".join(upward)


def test_no_import_circle() -> None:
    circles = [sorted(c) for c in nx.strongly_connected_components(GRAPH) if len(c) > 1]
    assert not circles, circles


def test_the_checks_can_fail() -> None:
    """A planted upward import and a planted circle are found."""
    planted = GRAPH.copy()
    planted.add_edge("fase.data.pipeline", "fase.forecasters.base")
    planted.add_edge("fase.forecasters.base", "fase.data.pipeline")
    assert any(len(c) > 1 for c in nx.strongly_connected_components(planted))
    assert RANK[package_of("fase.forecasters.base")] > RANK[package_of("fase.data.pipeline")]
