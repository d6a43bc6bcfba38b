"""Phase orchestration shared by ``fase data`` and ``fase run``: each phase reads and
writes artefacts in the run directory."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fase.config import RunConfig
from fase.config.method import resolve_contiguity
from fase.data.pipeline import Phase1Result, build_dataset, write_phase1
from fase.graph import Graph, build_graph
from fase.io import write_json, write_text

Progress = Callable[[str], None]


@dataclass
class DataPhases:
    """Phases 1–2 in memory, with the Markdown tables and wall times (s)."""

    phase1: Phase1Result
    graph: Graph
    dataset_table: str
    graph_table: str
    seconds: dict[str, float]


def has_data_phases(run_dir: str | Path) -> bool:
    """Whether ``run_dir`` holds the artefacts of Phases 1–2 (tensors and graph)."""
    run_dir = Path(run_dir)
    return (run_dir / "data" / "tensors.npz").is_file() and (
        run_dir / "graph" / "graph.npz"
    ).is_file()


def ensure_data_phases(
    cfg: RunConfig, run_dir: str | Path, say: Callable[[str], None] = lambda _msg: None
) -> bool:
    """Run Phases 1–2 into ``run_dir`` unless it has them; whether they were run."""
    if has_data_phases(run_dir):
        return False
    say("Phases 1–2: data and graph …")
    run_data_phases(cfg, run_dir)
    return True


def run_data_phases(
    cfg: RunConfig, run_dir: str | Path, progress: Progress | None = None
) -> DataPhases:
    """Phase 1 (tensors) and Phase 2 (graph) into ``run_dir/data`` and ``run_dir/graph``."""
    run_dir = Path(run_dir)
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    phase1 = build_dataset(cfg, progress)
    if progress:
        progress("writing artefacts")
    dataset_table = write_phase1(phase1, run_dir / "data")
    seconds["phase1_data"] = time.perf_counter() - start

    start = time.perf_counter()
    if progress:
        progress("building the hybrid graph")
    method = resolve_contiguity(cfg.graph, cfg.dataset)
    graph = build_graph(phase1.areas, phase1.demographics.static, phase1.demographics.valid, method)
    graph_dir = run_dir / "graph"
    graph.save(graph_dir / "graph.npz")
    graph_table = (
        f"# Graph statistics ({method.contiguity} contiguity)\n\n" + graph.stats.to_markdown()
    )
    write_text(graph_dir / "graph_stats.md", graph_table)
    write_json(
        graph_dir / "graph_stats.json", {"contiguity": method.contiguity, **graph.stats.to_dict()}
    )
    seconds["phase2_graph"] = time.perf_counter() - start
    return DataPhases(phase1, graph, dataset_table, graph_table, seconds)
