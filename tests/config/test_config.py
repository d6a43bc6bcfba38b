from __future__ import annotations

from pathlib import Path

import pytest

from fase.config import available_datasets, available_presets, bins_per, load_config, parse_duration
from fase.errors import FaseInputError


def test_shipped_presets_and_datasets_validate() -> None:
    assert {"default", "paper", "quick"} <= set(available_presets())
    assert {"chicago", "baltimore", "nyc", "la-westla"} <= set(available_datasets())
    for preset in available_presets():
        for dataset in available_datasets():
            cfg = load_config(dataset=dataset, preset=preset)
            assert cfg.dataset.name == dataset


def test_default_dataset_is_embedded_chicago() -> None:
    cfg = load_config()
    assert cfg.dataset.name == "chicago"
    assert Path(cfg.dataset.incidents.path).is_file()
    assert cfg.dataset.timezone == "America/Chicago"


def test_paper_preset_settings_and_baltimore_overrides() -> None:
    cfg = load_config(dataset="baltimore", preset="paper")
    assert cfg.data.split == (0.70, 0.15, 0.15)
    assert (cfg.graph.theta, cfg.graph.alpha_geo, cfg.graph.alpha_feat) == (0.5, 0.6, 0.4)
    assert cfg.data.minority_definition == "black_share" and cfg.data.minority_threshold == 0.5
    assert cfg.data.missing_demographics == "zero_fill" and cfg.graph.normalize == "none"
    assert cfg.dataset.bbox is not None
    assert (cfg.dataset.bbox.lat_min, cfg.dataset.bbox.lat_max) == (39.197, 39.372)
    assert (cfg.dataset.bbox.lon_min, cfg.dataset.bbox.lon_max) == (-76.713, -76.529)
    assert (cfg.dataset.calendar.start.year, cfg.dataset.calendar.end.year) == (2017, 2020)
    assert cfg.dataset.areas.projected_crs == "EPSG:32618"


def test_default_differs_from_paper_where_documented() -> None:
    paper, default = load_config(preset="paper"), load_config(preset="default")
    assert default.graph.normalize == "row" and default.data.missing_demographics == "exclude"
    assert paper.data.calendar == "observed" and default.data.calendar == "config"


def test_quick_inherits_default() -> None:
    assert load_config(preset="quick").data == load_config(preset="default").data


def test_user_yaml_overrides_and_typos(tmp_path: Path) -> None:
    good = tmp_path / "c.yaml"
    good.write_text("preset: paper\ndata: {bin: 8h}\ngraph: {theta: 0.7}\n")
    cfg = load_config(config_path=good)
    assert cfg.preset == "paper" and cfg.data.bin == "8h" and cfg.graph.theta == 0.7
    typo = tmp_path / "typo.yaml"
    typo.write_text("graph: {thetaa: 0.7}\n")
    with pytest.raises(FaseInputError, match=r"typo.yaml.*graph.thetaa"):
        load_config(config_path=typo)


def test_bad_split_and_unknown_names(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: {split: [0.5, 0.2, 0.2]}\n")
    with pytest.raises(FaseInputError, match="split"):
        load_config(config_path=bad)
    with pytest.raises(FaseInputError, match="unknown preset"):
        load_config(preset="nope")
    with pytest.raises(FaseInputError, match="unknown dataset"):
        load_config(dataset="atlantis")


def test_durations_convert_to_bins() -> None:
    assert bins_per("7d", "1h") == 168 and bins_per("24h", "1h") == 24
    assert bins_per("24h", "8h") == 3 and bins_per("7d", "1D") == 7 and bins_per("24h", "1D") == 1
    assert parse_duration("7D") == parse_duration("7d")
    with pytest.raises(FaseInputError):
        bins_per("10h", "8h")
    with pytest.raises(FaseInputError):
        parse_duration("soon")


@pytest.mark.parametrize("name", ["../datasets/chicago", "/etc/hostname", "quick.yaml", ""])
def test_a_preset_is_a_shipped_name_never_a_path(name: str) -> None:
    with pytest.raises(FaseInputError, match="unknown preset"):
        load_config(preset=name or "  ")


def test_a_dataset_name_never_reaches_outside_the_shipped_folder(tmp_path, monkeypatch) -> None:
    """``../presets/quick`` is neither a shipped dataset nor a file next to the config."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FaseInputError, match=r"unknown dataset '\.\./presets/quick'"):
        load_config(dataset="../presets/quick")
