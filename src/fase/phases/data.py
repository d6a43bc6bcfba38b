"""Phases 1–2 on a run directory (``fase data``, and the first step of every command
that builds data): incidents → tensors (``data/``), then the hybrid graph (``graph/``)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from fase.config import RunConfig
from fase.config.method import resolve_contiguity
from fase.data.pipeline import Phase1Result, build_dataset, write_phase1
from fase.graph import Graph, build_graph
from fase.io import write_json, write_text
from fase.progress import Say, silent
from fase.rundir import RunDir


@dataclass
class DataPhases:
    """Phases 1–2 in memory, with the Markdown tables and wall times (s)."""

    phase1: Phase1Result
    graph: Graph
    dataset_table: str
    graph_table: str
    seconds: dict[str, float]


def ensure_data_phases(cfg: RunConfig, run_dir: str | Path, say: Say = silent) -> bool:
    """Run Phases 1–2 into ``run_dir`` unless it has them; whether they were run."""
    if RunDir(run_dir).has_data_phases():
        return False
    say("Phases 1–2: data and graph …")
    run_data_phases(cfg, run_dir)
    return True


def run_data_phases(cfg: RunConfig, run_dir: str | Path, say: Say = silent) -> DataPhases:
    """Phase 1 (tensors) and Phase 2 (graph) into ``run_dir/data`` and ``run_dir/graph``.

    Both are built in memory before anything is written, so that input a phase refuses
    leaves the run directory as it was (not new tensors beside an old graph)."""
    run = RunDir(run_dir)
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    phase1 = build_dataset(cfg, say)
    seconds["phase1_data"] = time.perf_counter() - start

    start = time.perf_counter()
    say("building the hybrid graph")
    method = resolve_contiguity(cfg.graph, cfg.dataset)
    graph = build_graph(phase1.areas, phase1.demographics.static, phase1.demographics.valid, method)
    seconds["phase2_graph"] = time.perf_counter() - start

    start = time.perf_counter()
    say("writing artefacts")
    dataset_table = write_phase1(phase1, run)
    seconds["phase1_data"] += time.perf_counter() - start
    start = time.perf_counter()
    graph.save(run.graph)
    graph_table = (
        f"# Graph statistics ({method.contiguity} contiguity)\n\n" + graph.stats.to_markdown()
    )
    write_text(run.graph_stats_md, graph_table)
    write_json(run.graph_stats_json, {"contiguity": method.contiguity, **graph.stats.to_dict()})
    seconds["phase2_graph"] += time.perf_counter() - start
    return DataPhases(phase1, graph, dataset_table, graph_table, seconds)
