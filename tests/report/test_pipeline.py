"""Fig 1, the pipeline figure: every box is labelled with the run's own settings."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import yaml
from matplotlib.text import Annotation, Text

from fase.config.loader import load_config
from fase.errors import FaseInputError
from fase.report.pipeline import pipeline_figure, pipeline_stages
from fase.rundir import config_to_yaml

# Settings unlike every preset's, so that no label can match by being a default.
OVERRIDES: dict[str, Any] = {
    "data": {"bin": "8h"},
    "graph": {"island_k": 3, "theta": 0.7, "alpha_geo": 0.7, "alpha_feat": 0.3},
    "model": {"distribution": "nb", "blocks": 3, "dilations": [1, 2, 4]},
    "training": {"epochs": 7},
    "allocation": {"policy": "proportional", "budget": 45.0, "epsilon": 0.02, "floor": 0.5},
    "simulation": {"cycles": 3, "period": "2d", "replicates": 4, "detection": "binomial"},
}
META = {"node_ids": [str(i) for i in range(9)], "feature_names": [f"f{i}" for i in range(13)]}
GRAPH_STATS = {"contiguity": "queen", "geo_edges": 40, "feat_edges": 1_234}
FORECASTER = {"name": "fase", "family": "fase", "objective": "nll", "parameters": 12_345}


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    """A tiny run's resolved config.yaml, as ``fase`` writes it (quick preset, West LA)."""
    resolved = load_config(dataset="la-westla", preset="quick", overrides=OVERRIDES)
    return yaml.safe_load(config_to_yaml(resolved))


def box_texts(config: dict[str, Any]) -> list[str]:
    """The text of the figure's five boxes."""
    stages = pipeline_stages(config, META, GRAPH_STATS, FORECASTER)
    figure = pipeline_figure(stages)
    texts = [t.get_text() for t in figure.axes[0].texts[: len(stages)]]
    assert texts == [stage.label(i + 1) for i, stage in enumerate(stages)]
    return [" ".join(text.splitlines()) for text in texts]  # lines wrapped or not


def test_every_box_carries_the_configs_values(config: dict[str, Any]) -> None:
    data, graph, predictor, allocation, simulation = box_texts(config)
    assert data.startswith("1. Data and tensors")
    assert f"dataset {config['dataset']['name']}" in data and "la-westla" in data
    assert f"{config['data']['bin']} bins" in data and "8h bins" in data
    assert "9 areas × 13 features" in data
    g = config["graph"]
    assert "A_geo: queen contiguity" in graph  # the rule applied (graph_stats), not "auto"
    assert f"islands: {g['island_k']} nearest areas" in graph and g["island_k"] == 3
    assert f"A_feat: cosine ≥ {g['theta']:g}" in graph
    assert f"A = {g['alpha_geo']:g}·A_geo + {g['alpha_feat']:g}·A_feat + I (self-loops)" in graph
    assert "edges: 40 geo, 1,234 feat." in graph
    assert "model fase" in predictor and "STGNN + Hawkes, 3 blocks" in predictor
    assert f"{config['model']['distribution'].upper()} likelihood" in predictor
    assert "NB likelihood" in predictor and "7 epochs max" in predictor
    assert "12,345 parameters" in predictor
    a = config["allocation"]
    assert f"policy {a['policy']}" in allocation and "policy proportional" in allocation
    assert "budget B = 45 per bin" in allocation and "|DIR − 1| ≤ ε = 0.02" in allocation
    assert "floor 0.5 per area" in allocation and f"on the {a['risk']} forecast" in allocation
    s = config["simulation"]
    assert f"{s['mode']} mode" in simulation and "K = 3 cycles of 2d" in simulation
    assert "replicates R = 4" in simulation and "binomial detection" in simulation
    assert f"retrain {s['retrain_epochs']} epochs per cycle" in simulation


def test_the_data_and_the_model_actually_built_win(config: dict[str, Any]) -> None:
    """A coarsened bin (Baltimore: 1h asked, 1D built) and another fitted model are shown as
    they are, with the config's bin beside the built one."""
    meta = {**META, "bin": "1D"}
    forecaster = {"name": "historical_average", "family": "baseline", "objective": "nll"}
    data, _, predictor, *_ = pipeline_stages(config, meta, None, forecaster)
    assert "1D (config 8h) bins" in data.lines
    assert predictor.lines == ("model historical_average", "family baseline, objective nll")
    unconstrained = {**config, "allocation": {**config["allocation"], "epsilon": None}}
    allocation = pipeline_stages(unconstrained, None, None, None)[3]
    assert "no DIR constraint" in allocation.lines


def test_before_the_phases_ran_and_with_an_old_config(config: dict[str, Any]) -> None:
    old = {k: v for k, v in config.items() if k != "simulation"}
    data, graph, predictor, _, simulation = pipeline_stages(old, None, None, None)
    assert "areas × features: not built yet" in data.lines
    assert "A_geo: auto contiguity" in graph.lines  # the config's rule before Phase 2
    assert not any("edges" in line for line in graph.lines)
    assert predictor.lines[0] == "model fase"
    assert simulation.lines[:2] == ("? mode", "K = ? cycles")
    with pytest.raises(FaseInputError, match=r"config\.yaml"):
        pipeline_stages({}, META, None, None)


def test_boxes_do_not_overlap_and_arrows_join_them(config: dict[str, Any]) -> None:
    figure = pipeline_figure(pipeline_stages(config, META, GRAPH_STATS, FORECASTER))
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    ax = figure.axes[0]
    boxes: list[Text] = ax.texts[:5]
    frames = [box.get_bbox_patch().get_window_extent(renderer) for box in boxes]
    for left, right in itertools.pairwise(frames):
        assert left.x1 < right.x0  # side by side, in order, apart
    assert all(
        figure.bbox.contains(f.x0, f.y0) and figure.bbox.contains(f.x1, f.y1) for f in frames
    )
    patches = [box.get_bbox_patch() for box in boxes]
    arrows = [(a.anncoords, a.xycoords) for a in ax.texts if isinstance(a, Annotation)]
    # phase to phase, then the feedback loop: simulation (5) back to the predictor (3)
    assert arrows == [*itertools.pairwise(patches), (patches[4], patches[2])]
