"""MAE, RMSE, NLL and sparsity buckets against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from fase.errors import FaseInputError
from fase.evaluation import (
    bucket_labels,
    count_metrics,
    count_metrics_by_bucket,
    mae,
    mean_nll,
    rmse,
    sparsity_buckets,
    zero_share,
)

# T = 3 bins × N = 2 nodes, predicted mean 1 everywhere.
Y = np.array([[0, 2], [1, 0], [3, 1]])
MU = np.ones((3, 2))
# errors mu − y = [[1, −1], [0, 1], [−2, 0]]


def test_mae_rmse_by_hand() -> None:
    assert mae(Y, MU) == pytest.approx(5 / 6)  # |e| sums to 5 over 6 cells
    np.testing.assert_allclose(mae(Y, MU, axis=0), [1.0, 2 / 3])
    assert rmse(Y, MU) == pytest.approx(math.sqrt(7 / 6))  # e² sums to 7
    np.testing.assert_allclose(rmse(Y, MU, axis=0), [math.sqrt(5 / 3), math.sqrt(2 / 3)])


def test_nll_of_poisson_one_by_hand() -> None:
    # log Poisson(k; 1) = −1 − log k!; the six cells give −6 − log 2 − log 3! = −6 − log 12.
    log_prob = stats.poisson.logpmf(Y, MU)
    assert mean_nll(log_prob) == pytest.approx(1 + math.log(12) / 6)
    np.testing.assert_allclose(
        mean_nll(log_prob, axis=0), [(3 + math.log(6)) / 3, (3 + math.log(2)) / 3]
    )
    scores = count_metrics(Y, MU, log_prob)
    assert scores == {
        "mae": pytest.approx(5 / 6),
        "rmse": pytest.approx(math.sqrt(7 / 6)),
        "nll": pytest.approx(1 + math.log(12) / 6),
    }


def test_impossible_observation_gives_infinite_nll() -> None:
    log_prob = np.array([[-1.0, -np.inf]])
    assert mean_nll(log_prob) == math.inf


@pytest.mark.parametrize(
    "log_prob", [np.array([[0.5, -1.0]]), np.array([[np.nan, -1.0]])], ids=["positive", "nan"]
)
def test_log_prob_must_be_a_log_pmf(log_prob: np.ndarray) -> None:
    with pytest.raises(FaseInputError, match="log_prob"):
        mean_nll(log_prob)


def test_bad_inputs_raise() -> None:
    with pytest.raises(FaseInputError, match="non-negative"):
        mae(np.array([[-1.0, 0.0]]), np.zeros((1, 2)))
    with pytest.raises(FaseInputError, match="shape"):
        rmse(Y, np.ones((2, 3)))
    with pytest.raises(FaseInputError, match=r"\(T, N\)"):
        mae(np.ones(3), np.ones(3))
    with pytest.raises(FaseInputError, match="finite"):
        mae(Y, np.full((3, 2), np.nan))


def test_zero_share_and_bucket_boundaries() -> None:
    # 20 training bins; zeros per node: 0, 10 (share 0.5), 16 (0.8), 19 (0.95), 20 (1.0), 9.
    zeros = [0, 10, 16, 19, 20, 9]
    train = np.ones((20, len(zeros)))
    for node, count in enumerate(zeros):
        train[:count, node] = 0
    np.testing.assert_allclose(zero_share(train), [0, 0.5, 0.8, 0.95, 1.0, 0.45])
    # left-closed buckets; the last one, [0.95, 1], is closed on both ends
    np.testing.assert_array_equal(sparsity_buckets(train), [0, 1, 2, 3, 3, 0])
    np.testing.assert_array_equal(sparsity_buckets(train, edges=(0, 0.9, 1)), [0, 0, 0, 1, 1, 0])
    assert bucket_labels() == ["[0, 0.5)", "[0.5, 0.8)", "[0.8, 0.95)", "[0.95, 1]"]


@pytest.mark.parametrize("edges", [(0, 0.5), (0.1, 1), (0, 0.5, 0.5, 1), (1,)])
def test_bad_bucket_edges_raise(edges: tuple[float, ...]) -> None:
    with pytest.raises(FaseInputError, match="bucket_edges"):
        bucket_labels(edges)


def test_bucket_metrics_pool_cells_and_use_training_counts_only() -> None:
    # nodes 0, 1 never zero in training (bucket 0); node 2 always zero (bucket 3)
    train = np.array([[1, 2, 0], [3, 1, 0]])
    y = np.array([[0, 2, 0], [1, 0, 4]])
    mu = np.ones((2, 3))
    log_prob = stats.poisson.logpmf(y, mu)
    rows = count_metrics_by_bucket(y, mu, log_prob, train)
    assert [r["n_nodes"] for r in rows] == [2, 0, 0, 1]
    # bucket 0 pools the four cells of nodes 0, 1: errors 1, −1, 0, 1
    assert rows[0]["mae"] == pytest.approx(3 / 4)
    assert rows[0]["rmse"] == pytest.approx(math.sqrt(3 / 4))
    assert rows[0]["nll"] == pytest.approx(-log_prob[:, :2].mean())
    assert rows[1] == {"bucket": "[0.5, 0.8)", "n_nodes": 0, "mae": None, "rmse": None, "nll": None}
    # bucket 3 (node 2): errors 1, −3
    assert rows[3]["mae"] == pytest.approx(2.0)
    assert rows[3]["rmse"] == pytest.approx(math.sqrt(5.0))
    with pytest.raises(FaseInputError, match="train_counts"):
        count_metrics_by_bucket(y, mu, log_prob, train[:, :2])
