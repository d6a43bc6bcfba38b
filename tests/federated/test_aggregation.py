"""Flower's FedAvg aggregation, the FedProx proximal gradient, and the models that cannot
be federated — without a simulation."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import torch
from flwr.app import ArrayRecord, Message, MessageType, MetricRecord, RecordDict
from flwr.app.error import Error
from flwr.serverapp.strategy import FedAvg
from flwr.supercore.task_identity import TaskIdentity
from tests.forecasters.synthetic import spillover_city
from torch import nn

from fase.config.training import TrainingConfig
from fase.errors import FaseInputError
from fase.federated.experiment import initial_weights
from fase.federated.flower import make_strategy
from fase.federated.local import LocalSetup, local_model, neural_forecaster, proximal_hooks
from fase.federated.partition import client_areas, client_data, partition_areas
from fase.forecasters.registry import ForecasterSettings, create


@pytest.fixture(autouse=True)
def task_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Flower stamps every new message with the task's run and node (set by a run)."""
    for name, value in (("_run_id", 1), ("_node_id", 0), ("_task_id", 1)):
        monkeypatch.setattr(TaskIdentity, name, value)


def reply(client: int, examples: int, **arrays: list) -> Message:
    weights = {k: torch.tensor(v, dtype=torch.float32) for k, v in arrays.items()}
    metrics = MetricRecord({"num-examples": examples, "train-loss": 0.5 + client, "client": client})
    content = RecordDict({"arrays": ArrayRecord(weights), "metrics": metrics})
    return Message(content, dst_node_id=client, message_type=MessageType.TRAIN)


def test_fedavg_is_the_example_weighted_mean_of_the_client_weights() -> None:
    replies = [
        reply(0, 1, w=[1.0, 2.0], b=[[0.5]]),
        reply(1, 3, w=[5.0, -2.0], b=[[1.5]]),
    ]
    # by hand: (1·w₀ + 3·w₁) / 4
    expected = {"w": np.array([4.0, -1.0]), "b": np.array([[1.25]])}
    strategies = [FedAvg(), make_strategy("fedavg", 2, 0.0), make_strategy("fedprox", 2, 0.7)]
    for strategy in strategies:
        arrays, metrics = strategy.aggregate_train(1, replies)
        for name, value in expected.items():
            np.testing.assert_array_equal(arrays[name].numpy(), value)
        assert metrics["train-loss"] == pytest.approx((1 * 0.5 + 3 * 1.5) / 4)
    assert "client" not in metrics  # the mean client id is not reported


def test_replies_are_aggregated_in_client_order_whatever_order_they_arrive_in() -> None:
    # float32 sums that depend on their order: 1e8/3 + 1/3 − 1e8/3
    replies = [reply(0, 1, w=[1e8]), reply(1, 1, w=[1.0]), reply(2, 1, w=[-1e8])]
    in_order = FedAvg().aggregate_train(1, replies)[0]["w"].numpy()
    for permutation in itertools.permutations(replies):
        strategy = make_strategy("fedavg", 3, 0.0)
        arrays, _ = strategy.aggregate_train(1, list(permutation))
        np.testing.assert_array_equal(arrays["w"].numpy(), in_order)
        assert [row["client"] for row in strategy.replies] == [0, 1, 2]


def test_a_failed_client_stops_the_round() -> None:
    failed = Message(Error(code=0, reason="out of memory"), reply_to=reply(1, 1, w=[0.0]))
    with pytest.raises(RuntimeError, match="out of memory"):
        make_strategy("fedavg", 2, 0.0).aggregate_train(3, [reply(0, 1, w=[1.0]), failed])


def test_proximal_hooks_add_the_gradient_of_the_fedprox_term() -> None:
    torch.manual_seed(0)
    x, mu = torch.randn(5, 3), 0.3
    model = nn.Linear(3, 2)
    start = {k: v.clone() for k, v in model.state_dict().items()}  # w_t, the round's start
    handles = proximal_hooks(model, mu)
    with torch.no_grad():  # local steps have moved the weights away from w_t
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    model(x).square().mean().backward()
    for handle in handles:
        handle.remove()

    # autograd of the FedProx objective: loss + (μ/2)·‖w − w_t‖²
    reference = nn.Linear(3, 2)
    reference.load_state_dict(model.state_dict())
    proximal = sum((p - start[k]).square().sum() for k, p in reference.named_parameters())
    (reference(x).square().mean() + mu / 2 * proximal).backward()
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=0, atol=1e-7)
    plain = nn.Linear(3, 2)
    plain.load_state_dict(model.state_dict())
    plain(x).square().mean().backward()
    assert (plain.weight.grad - model.weight.grad).abs().max() > 1e-3


@pytest.mark.parametrize(
    ("model", "problem"),
    [
        ("fase_default", "'hawkes.alpha_raw' has shape (6, 6) on the city's 6 areas and (3, 3)"),
        ("fase_paper", "depends on the areas"),
        ("historical_average", "not a neural model"),
    ],
)
def test_models_with_per_area_weights_or_none_are_refused(model, problem) -> None:
    data = spillover_city(n=6, steps=200)
    groups = client_areas(partition_areas(data.graph.A_geo, 2, seed=0))
    setup = LocalSetup(model, ForecasterSettings(TrainingConfig(), quick=True), seed=0)
    with pytest.raises(FaseInputError, match=re.escape(problem)):
        initial_weights(setup, data, [client_data(data, areas) for areas in groups])


@pytest.mark.parametrize("model", ["dnn", "crimenet", "gat_tcn", "stgnn"])
def test_shared_weight_models_start_from_the_centralised_initial_weights(model) -> None:
    data = spillover_city(n=6, steps=200)
    groups = client_areas(partition_areas(data.graph.A_geo, 3, seed=0))
    setup = LocalSetup(model, ForecasterSettings(TrainingConfig(), quick=True), seed=4)
    weights = initial_weights(setup, data, [client_data(data, areas) for areas in groups])
    torch.manual_seed(4)  # as NeuralForecaster.fit builds the centralised model
    central = create(model, ForecasterSettings(TrainingConfig(), quick=True)).build_module(data)
    assert weights.keys() == dict(central.named_parameters()).keys()
    for name, parameter in central.named_parameters():
        torch.testing.assert_close(weights[name], parameter.detach(), rtol=0, atol=0)


def test_a_client_model_holds_the_shared_weights_and_keeps_its_own_graph() -> None:
    data = spillover_city(n=6, steps=200)
    local = client_data(data, np.array([0, 1, 2]))
    setup = LocalSetup("stgnn", ForecasterSettings(TrainingConfig(), quick=True), seed=1)
    weights = initial_weights(setup, data, [local])
    forecaster = neural_forecaster(setup)
    module = local_model(forecaster, local, weights)
    assert forecaster.module is module
    assert module.stgnn.fixed_supports.shape[-2:] == (3, 3)  # its subgraph, not the city's
    for name, parameter in module.named_parameters():
        torch.testing.assert_close(parameter.detach(), weights[name], rtol=0, atol=0)
    with pytest.raises(RuntimeError, match="do not match"):
        local_model(forecaster, local, {k: v for k, v in weights.items() if k != name})
