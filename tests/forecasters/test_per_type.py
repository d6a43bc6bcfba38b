"""Per-crime-type forecasts: one copy per type for the statistical models, one output per
type for the networks; the total is the sum of the types."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from tests.phases.test_compare import typed_city

from fase.config.training import TrainingConfig
from fase.forecasters.neural import NeuralForecaster
from fase.forecasters.per_type import PerTypeForecaster, stack_laws
from fase.forecasters.registry import ForecasterSettings, create
from fase.models.distributions import NegativeBinomial, Poisson, SumOfIndependent
from fase.training.windows import CountSeries

SPLIT = {"train": (0, 280), "val": (280, 340), "test": (340, 400)}
TRAINING = TrainingConfig(window=16, stride=8, epochs=2, early_stopping_patience=None)


def test_statistical_models_fit_one_copy_per_type():
    data = typed_city(steps=400)
    data = dataclasses.replace(
        data, split={"train": (0, 280), "val": (280, 340), "test": (340, 400)}
    )
    model = create("historical_average", ForecasterSettings(TRAINING, crime_types=True))
    assert isinstance(model, PerTypeForecaster)
    model.fit(data, seed=0)
    law = model.predict(data, 340, 400)
    assert isinstance(law, SumOfIndependent) and law.components.mean.shape == (60, 6, 2)
    for k in range(2):
        alone = create("historical_average", ForecasterSettings(TRAINING))
        alone.fit(data.crime_type(k), seed=0)
        expected = alone.predict(data.crime_type(k), 340, 400).mean
        torch.testing.assert_close(law.components.mean[..., k], expected)
    torch.testing.assert_close(law.mean, law.components.mean.sum(dim=-1))
    with pytest.raises(ValueError, match="cannot be deployed"):
        model.state()


def test_a_network_forecasts_the_types_jointly():
    torch.set_num_threads(1)
    data = typed_city(steps=400)
    data = dataclasses.replace(
        data, split={"train": (0, 280), "val": (280, 340), "test": (340, 400)}
    )
    model = create("dnn", ForecasterSettings(TRAINING, quick=True, crime_types=True))
    assert isinstance(model, NeuralForecaster) and model.target == "types"
    model.fit(data, seed=0)
    assert model.module.output.linear.out_features == 2  # one output per type, shared layers
    law = model.predict(data, 340, 400)
    assert law.components.mean.shape == (60, 6, 2)
    torch.testing.assert_close(law.mean, law.components.mean.sum(dim=-1))
    with pytest.raises(ValueError, match="not deployable"):
        model.require_deployable()


def test_windows_carry_per_type_targets_and_the_total_history():
    y_types = np.arange(2 * 10 * 3).reshape(2, 10, 3)
    series = CountSeries(np.zeros((2, 10, 1)), y_types.sum(axis=2), 2, targets=y_types)
    batch = series.batch(np.array([3]), 4)
    assert batch.target.shape == (1, 2, 4, 3)
    np.testing.assert_array_equal(batch.target[0].numpy(), y_types[:, 3:7])
    np.testing.assert_array_equal(batch.y_hist[0].numpy(), y_types.sum(axis=2)[:, 1:7])


def test_stack_laws_keeps_poisson_and_stands_in_for_it_in_nb():
    mu = torch.tensor([1.0, 2.0], dtype=torch.float64)
    both = stack_laws([Poisson(mu), Poisson(2 * mu)])
    assert isinstance(both, Poisson) and both.mean.tolist() == [[1.0, 2.0], [2.0, 4.0]]
    mixed = stack_laws([Poisson(mu), NegativeBinomial(mu, torch.full_like(mu, 3.0))])
    assert isinstance(mixed, NegativeBinomial)
    assert mixed.theta[:, 0].tolist() == [1e8, 1e8] and mixed.theta[:, 1].tolist() == [3.0, 3.0]
