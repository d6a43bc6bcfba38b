"""SimulationConfig: defaults, validation, durations → bins."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from fase.config.simulation import SimulationConfig
from fase.errors import FaseInputError


def test_defaults_are_the_corrected_experiment_with_the_papers_numbers():
    sim = SimulationConfig()
    assert (sim.mode, sim.cycles, sim.retrain_epochs, sim.retrain_window) == ("rolling", 6, 50, 64)
    assert (sim.detection, sim.replicates, sim.p_base, sim.p_max) == ("expected", 1, 0.3, 0.9)
    assert sim.period_bins("1h") == 168 and sim.period_bins("1D") == 7


def test_unknown_keys_and_changes_are_refused():
    with pytest.raises(ValidationError):
        SimulationConfig(cylces=3)
    with pytest.raises(ValidationError):
        SimulationConfig().cycles = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    "settings",
    [
        {"replicates": 5},  # expected detection is deterministic
        {"p_base": 0.9, "p_max": 0.3},
        {"period": "soon"},
        {"cycles": 0},
        {"mode": "live"},
        {"forecast_block": 0},
    ],
)
def test_invalid_settings(settings):
    with pytest.raises(ValidationError):
        SimulationConfig(**settings)


def test_binomial_replicates_and_periods_that_do_not_divide():
    assert SimulationConfig(detection="binomial", replicates=20).replicates == 20
    with pytest.raises(FaseInputError, match="whole number"):
        SimulationConfig(period="90m").period_bins("1h")
