"""ModelConfig: defaults, validation and the Hawkes window in bins."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from fase.config.model import ModelConfig
from fase.errors import FaseInputError


def test_defaults_are_the_paper_architecture_with_corrected_hawkes() -> None:
    cfg = ModelConfig()
    assert (cfg.channels, cfg.embedding_dim, cfg.blocks, cfg.kernel_size) == (64, 32, 4, 2)
    assert cfg.dilations == (1, 2, 4, 8) and cfg.dropout == 0.2 and cfg.head_hidden == 32
    assert (cfg.hawkes_alpha_init, cfg.hawkes_beta_init, cfg.hawkes_window) == (0.5, 1.0, "7d")
    assert cfg.hawkes_self_excitation and cfg.hawkes_history == "carry"
    assert not cfg.adaptive_adjacency and cfg.diffusion == "forward" and cfg.diffusion_hops == 1
    assert cfg.distribution == "zinb" and cfg.likelihood_eps is None
    assert cfg.receptive_field == 16


def test_hawkes_window_in_bins() -> None:
    cfg = ModelConfig()
    assert cfg.hawkes_window_bins("1h") == 168
    assert cfg.hawkes_window_bins("8h") == 21
    assert cfg.hawkes_window_bins("1D") == 7
    with pytest.raises(FaseInputError, match="whole number"):
        ModelConfig(hawkes_window="30h").hawkes_window_bins("1D")


@pytest.mark.parametrize(
    "fields",
    [
        {"dilations": (1, 2, 4)},  # four blocks need four dilations
        {"blocks": 2, "dilations": (1, 0)},
        {"hawkes_window": "a week"},
        {"hawkes_history": "reset"},
        {"distribution": "gaussian"},
        {"dropout": 1.0},
        {"hawkes_beta_init": 0.0},
        {"hidden": 12},  # unknown key
    ],
)
def test_invalid_fields_are_rejected(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ModelConfig(**fields)
