"""Small synthetic run directories with every artefact the report reads.

``write_fake_run`` writes Phases 1–2 artefacts for a 3 × 2 grid of square areas and,
unless ``later=False``, the artefacts of the later phases (training log, evaluation,
forecast, two allocation policies with a trade-off table, two simulation scenarios:
one with our column names, three replicates (``history_replicates.csv``, whose mean is
the history) and their intervals, one with the reference's names) and a policy study.
Values are fixed so tests can compare plotted data with them.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import yaml
from shapely.geometry import box

GROUPS = ["minority", "majority", "minority", "majority", "majority", "unknown"]
N_AREAS = len(GROUPS)
STEPS = 24
CYCLES = 4

TRAINING_LOG = pd.DataFrame(
    {
        "epoch": [1, 2, 3, 4, 5],
        "train_loss": [0.90, 0.70, 0.60, 0.55, 0.52],
        "val_loss": [0.95, 0.80, 0.62, 0.66, 0.70],
        "lr": [1e-3] * 5,
        "seconds": [1.0, 1.1, 1.0, 1.2, 1.0],
    }
)
# Values outside the reference's fixed limits (coverage 0.85–1.00, Gini 0.90–0.95).
HISTORY = pd.DataFrame(
    {
        "cycle": [1, 2, 3, 4],
        "loss_mean": [0.30, 0.28, 0.27, 0.265],
        "loss_final": [0.25, 0.24, 0.235, 0.23],
        "dir_mean": [1.02, 0.97, 1.30, 1.00],
        "dir_std": [0.05, 0.04, 0.10, 0.02],
        "gini_mean": [0.40, 0.55, 0.62, 0.97],
        "coverage_mean": [0.50, 0.62, 0.70, 0.99],
        "mean_min_patrol": [2.5, 2.4, 2.6, 2.45],
        "mean_maj_patrol": [2.3, 2.35, 2.2, 2.4],
        "detection_min": [0.34, 0.345, 0.35, 0.352],
        "detection_maj": [0.38, 0.379, 0.377, 0.376],
        "detection_gap": [-0.04, -0.034, -0.027, -0.024],
    }
)
REPLICATE_SHIFTS = (-0.004, 0.001, 0.003)
"""Replicate r is the history plus REPLICATE_SHIFTS[r] × (cycle index + 1) in its findings
metrics: the shifts sum to 0, so the history is the replicates' mean."""
FINDINGS_COLUMNS = ("dir_mean", "detection_gap", "gini_mean")
REPLICATES = pd.concat(
    [
        HISTORY.assign(
            replicate=r,
            **{c: HISTORY[c] + shift * np.arange(1, CYCLES + 1) for c in FINDINGS_COLUMNS},
        )
        for r, shift in enumerate(REPLICATE_SHIFTS)
    ],
    ignore_index=True,
)
REFERENCE_HISTORY = HISTORY.drop(columns="detection_gap").rename(
    columns={
        "loss_mean": "zinb_loss_mean",
        "loss_final": "zinb_loss_final",
        "detection_min": "detection_ratio_min",
        "detection_maj": "detection_ratio_maj",
    }
)
POLICY_STUDY = pd.DataFrame(
    {
        "policy": ["paper", "proportional", "proportional", "detection_parity"],
        "floor": [0.0, 0.0, 0.5, 0.0],
        "detection_gap": [-0.035, -0.01, -0.004, 0.001],
        "coverage": [0.91, 0.62, 0.58, 0.74],
        "dir_mean": [1.0, 1.1, 1.05, 1.3],
    }
)
TRADEOFF = pd.DataFrame(
    {
        "policy": ["paper"] * 3 + ["proportional"] * 3,
        "tolerance": [0.0, 0.05, 0.2] * 2,
        "coverage": [0.85, 0.90, 0.95, 0.55, 0.60, 0.66],
        "dir_deviation": [0.0, 0.05, 0.2, 0.0, 0.04, 0.15],
        "detection_gap": [0.05, 0.04, 0.03, 0.01, 0.012, 0.02],
    }
)
CONFIG = {
    "preset": "default",
    "seed": 7,
    "dataset": {
        "name": "gridtown",
        "calendar": {"start": "2020-01-01", "end": "2020-01-02"},
        "demographics": {"vintage": "ACS 2015-2019 5-year"},
        "provenance": ["PROVENANCE.md"],
        "licence": "synthetic test data",
    },
    "forecaster": "fase",
    "data": {"bin": "1h", "minority_definition": "black_share", "minority_threshold": 0.5},
    "graph": {
        "contiguity": "queen",
        "island_k": 2,
        "theta": 0.5,
        "alpha_geo": 0.6,
        "alpha_feat": 0.4,
        "self_loops": True,
    },
    "model": {"blocks": 2, "hawkes": True, "distribution": "zinb"},
    "training": {"epochs": 5},
    "allocation": {
        "policy": "paper",
        "budget": 60.0,
        "epsilon": 0.1,
        "floor": 0.0,
        "risk": "expected",
    },
    "simulation": {
        "mode": "rolling",
        "cycles": CYCLES,
        "period": "1d",
        "replicates": len(REPLICATE_SHIFTS),
        "detection": "binomial",
        "retrain_epochs": 1,
    },
}


def write_phase12(run_dir: Path) -> None:
    """Phases 1–2 artefacts, config, run info and a provenance file."""
    data, graph = run_dir / "data", run_dir / "graph"
    data.mkdir(parents=True, exist_ok=True)
    graph.mkdir(parents=True, exist_ok=True)
    cells = [
        box(
            -87.7 + 0.02 * (i % 3),
            41.8 + 0.02 * (i // 3),
            -87.68 + 0.02 * (i % 3),
            41.82 + 0.02 * (i // 3),
        )
        for i in range(N_AREAS)
    ]
    frame = gpd.GeoDataFrame(
        {"area_id": [str(i) for i in range(N_AREAS)]}, geometry=cells, crs="EPSG:4326"
    )
    frame.to_file(data / "areas.geojson", driver="GeoJSON")
    features = ["count", "lag_1", "lag_2", "lag_3", "black_share", "income"]
    meta = {"groups": GROUPS, "node_ids": frame["area_id"].tolist(), "feature_names": features}
    (data / "meta.json").write_text(json.dumps({**meta, "bin": CONFIG["data"]["bin"]}))
    (data / "table1.md").write_text(
        "# Dataset statistics\n\n| Statistic | Value |\n|---|---|\n"
        "| Spatial nodes | 6 |\n| Rows read | 1,234 |\n"
    )
    groups = {g: GROUPS.count(g) for g in ("minority", "majority", "unknown")}
    (data / "table1.json").write_text(json.dumps({"demographics": {"groups": groups}}))
    (graph / "graph_stats.md").write_text(
        "# Graph statistics\n\n| Statistic | Value |\n|---|---|\n| A_geo directed edges | 14 |\n"
    )
    stats = {"contiguity": "queen", "nodes": N_AREAS, "geo_edges": 14, "feat_edges": 8}
    (graph / "graph_stats.json").write_text(json.dumps(stats))
    (run_dir / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    info = {
        "commands": [{"command": "fase data", "at": "2020", "seconds": {"a": 1.0}}],
        "seed": 7,
        "preset": "default",
        "dataset": "gridtown",
        "versions": {"numpy": "2"},
    }
    (run_dir / "run_info.json").write_text(json.dumps(info))
    (run_dir / "PROVENANCE.md").write_text(
        "# Gridtown provenance\n\nMade up for tests; see "
        "<https://example.org/data> and [site](http://x.org).\n"
    )


def write_later_phases(run_dir: Path, groups: list[str], steps: int = STEPS) -> None:
    """Training, evaluation, forecast, allocation, simulation and policy-study artefacts."""
    n = len(groups)
    rng = np.random.default_rng(5)
    TRAINING_LOG.to_csv(run_dir / "training_log.csv", index=False)
    (run_dir / "evaluation").mkdir(exist_ok=True)
    (run_dir / "evaluation" / "evaluation.md").write_text(
        "# Test forecast evaluation\n\n| metric | value |\n|---|---|\n| MAE | 0.4321 |\n"
    )
    (run_dir / "evaluation" / "evaluation.json").write_text(json.dumps({"bins": steps}))
    risk = rng.gamma(1.0, 1.0, (steps, n)) + 0.01
    (run_dir / "forecast").mkdir(exist_ok=True)
    np.savez(
        run_dir / "forecast" / "forecast.npz",
        expected=0.8 * risk,
        mu=risk,
        bin_start=np.arange(steps, dtype=np.int64) * 3_600_000_000_000,
    )
    for policy, scale in (("paper", 1.0), ("proportional", 0.5)):
        out = run_dir / "allocation" / policy
        out.mkdir(parents=True, exist_ok=True)
        patrol = 60 * scale * risk / risk.sum(axis=1, keepdims=True)
        np.savez(out / "allocation.npz", patrol=patrol)
        (out / "summary.md").write_text(
            f"# Allocation: {policy}\n\n| metric | mean |\n|---|---:|\n| dir | 1.0000 |\n"
        )
        config = {"epsilon": 0.05, "p_base": 0.25, "p_max": 0.85}
        (out / "summary.json").write_text(json.dumps({"policy": policy, "config": config}))
    TRADEOFF.to_csv(run_dir / "allocation" / "tradeoff.csv", index=False)
    sim = run_dir / "simulation"
    (sim / "baseline").mkdir(parents=True, exist_ok=True)
    (sim / "paper").mkdir(parents=True, exist_ok=True)
    with_intervals = HISTORY.copy()
    for column in ("dir_mean", "detection_min", "detection_maj", "mean_min_patrol"):
        with_intervals[f"{column}_lo"] = HISTORY[column] - 0.01
        with_intervals[f"{column}_hi"] = HISTORY[column] + 0.01
    with_intervals.to_csv(sim / "baseline" / "history.csv", index=False)
    REPLICATES.to_csv(sim / "baseline" / "history_replicates.csv", index=False)
    REFERENCE_HISTORY.to_csv(sim / "paper" / "simulation_history.csv", index=False)
    per_area = {
        k: rng.uniform(0.2, 1.0, (CYCLES, n))
        for k in ("mean_risk", "mean_patrol", "detection_rate", "true_count", "observed_count")
    }
    per_area["detection_rate"][-1, 0] = np.nan  # an area without true incidents
    np.savez(sim / "baseline" / "per_area.npz", **per_area)
    POLICY_STUDY.to_csv(sim / "policy_study.csv", index=False)


def write_fake_run(run_dir: Path, later: bool = True) -> Path:
    """A complete synthetic run directory (see module docstring); returns ``run_dir``."""
    write_phase12(run_dir)
    if later:
        write_later_phases(run_dir, GROUPS)
    return run_dir
