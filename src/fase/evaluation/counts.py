"""Count metrics: MAE, RMSE and mean negative log-likelihood, overall, per node, per bucket.

All arrays are (T, N): T time bins (rows) by N areas (columns), in incidents per bin.
Note that the run artefact ``tensors.npz`` stores ``y`` as (N, T); transpose it first.

With e = expected − y over a set S of (bin, area) cells::

    MAE  = Σ_S |e| / |S|                (incidents per bin)
    RMSE = sqrt(Σ_S e² / |S|)           (incidents per bin)
    NLL  = −Σ_S log p(y) / |S|          (nats per cell)

S is every cell (overall), one column (per node) or the columns of the nodes in one
sparsity bucket (pooled over those cells, so a bucket's RMSE is *not* the mean of its
nodes' RMSEs). The log-probabilities come from the caller, who evaluates the model's
own predictive distribution (ZINB, NB, Poisson, ...) at the observed counts.

Sparsity buckets group nodes by their share of zero bins in the *training* counts, so
the grouping never looks at the data being scored.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from fase.errors import FaseInputError

DEFAULT_BUCKET_EDGES: tuple[float, ...] = (0.0, 0.5, 0.8, 0.95, 1.0)
"""Zero-share bucket edges: [0, 0.5), [0.5, 0.8), [0.8, 0.95), [0.95, 1.0]."""

_LOG_PROB_TOLERANCE = 1e-6


def _as_cells(name: str, values: np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 2 or array.size == 0:
        raise FaseInputError(name, f"expected a non-empty (T, N) array, got shape {array.shape}")
    return array


def check_counts(name: str, y_true: np.ndarray) -> np.ndarray:
    """Return ``y_true`` as a float (T, N) array; raise if it is not finite and ≥ 0.

    Counts may be fractional (e.g. detection-thinned counts in the simulator); only
    negative or non-finite values are rejected.
    """
    y = _as_cells(name, y_true)
    if not np.all(np.isfinite(y)) or np.any(y < 0):
        raise FaseInputError(name, "counts must be finite and non-negative")
    return y


def check_same_shape(reference: np.ndarray, **arrays: np.ndarray) -> None:
    """Raise unless every named array has ``reference``'s shape."""
    for name, array in arrays.items():
        if np.shape(array) != reference.shape:
            raise FaseInputError(
                name, f"shape {np.shape(array)} does not match y_true's {reference.shape}"
            )


def _finite(name: str, values: np.ndarray) -> np.ndarray:
    array = _as_cells(name, values)
    if not np.all(np.isfinite(array)):
        raise FaseInputError(name, "values must be finite (found NaN or ±inf)")
    return array


def _log_probs(log_prob: np.ndarray) -> np.ndarray:
    lp = _as_cells("log_prob", log_prob)
    if np.any(np.isnan(lp)) or np.any(lp > _LOG_PROB_TOLERANCE):
        raise FaseInputError(
            "log_prob",
            "log-probabilities of counts must be ≤ 0 and not NaN",
            "pass the log-pmf of the observed counts, not a density or a loss",
        )
    return lp


def mae(y_true: np.ndarray, expected: np.ndarray, axis: int | None = None) -> float | np.ndarray:
    """Mean absolute error of the expected count, mean |expected − y| (incidents per bin).

    Args:
        y_true: (T, N) observed counts.
        expected: (T, N) predicted means E[y].
        axis: None for one number over all cells; 0 for one value per node, (N,).
    """
    y = check_counts("y_true", y_true)
    check_same_shape(y, expected=expected)
    error = np.abs(_finite("expected", expected) - y).mean(axis=axis)
    return float(error) if axis is None else error


def rmse(y_true: np.ndarray, expected: np.ndarray, axis: int | None = None) -> float | np.ndarray:
    """Root mean squared error, sqrt(mean (expected − y)²) (incidents per bin).

    Args and ``axis`` as in :func:`mae`.
    """
    y = check_counts("y_true", y_true)
    check_same_shape(y, expected=expected)
    error = np.sqrt(np.square(_finite("expected", expected) - y).mean(axis=axis))
    return float(error) if axis is None else error


def mean_nll(log_prob: np.ndarray, axis: int | None = None) -> float | np.ndarray:
    """Mean negative log-likelihood, −mean log p(y) (nats per cell).

    Args:
        log_prob: (T, N) log p(y_tn) under the model's predictive distribution; values
            must be ≤ 0 (log-pmf of counts). −inf (an observed count the model gives
            probability 0) is allowed and makes the mean +inf.
        axis: None for one number; 0 for one value per node, (N,).
    """
    nll = -_log_probs(log_prob).mean(axis=axis)
    return float(nll) if axis is None else nll


def count_metrics(
    y_true: np.ndarray, expected: np.ndarray, log_prob: np.ndarray, axis: int | None = None
) -> dict[str, float | np.ndarray]:
    """MAE, RMSE and NLL together: ``{"mae", "rmse", "nll"}`` (see the functions above).

    Args:
        y_true, expected, log_prob: (T, N) arrays of the same shape.
        axis: None for scalars; 0 for (N,) arrays, one value per node.
    """
    check_same_shape(np.asarray(y_true), log_prob=log_prob)
    return {
        "mae": mae(y_true, expected, axis),
        "rmse": rmse(y_true, expected, axis),
        "nll": mean_nll(log_prob, axis),
    }


def zero_share(train_counts: np.ndarray) -> np.ndarray:
    """Share of a node's training bins with zero incidents, (N,) in [0, 1].

    Args:
        train_counts: (T_train, N) training-period counts, T_train ≥ 1.
    """
    return (check_counts("train_counts", train_counts) == 0).mean(axis=0)


def check_bucket_edges(edges: Sequence[float]) -> np.ndarray:
    """Validate bucket edges: strictly increasing, from 0 to 1, at least two."""
    e = np.asarray(edges, dtype=float)
    if e.ndim != 1 or e.size < 2 or e[0] != 0.0 or e[-1] != 1.0 or np.any(np.diff(e) <= 0):
        raise FaseInputError(
            "bucket_edges",
            f"edges must increase strictly from 0 to 1, got {list(edges)}",
            "for example (0, 0.5, 0.8, 0.95, 1)",
        )
    return e


def sparsity_buckets(
    train_counts: np.ndarray, edges: Sequence[float] = DEFAULT_BUCKET_EDGES
) -> np.ndarray:
    """Bucket index of each node by its training zero share, (N,) int in [0, len(edges) − 2].

    Bucket b holds zero shares in [edges[b], edges[b+1]); the last bucket is closed,
    [edges[-2], 1.0], so a node that never had an incident in training falls in it.
    """
    e = check_bucket_edges(edges)
    share = zero_share(train_counts)
    return np.clip(np.searchsorted(e, share, side="right") - 1, 0, e.size - 2)


def bucket_labels(edges: Sequence[float] = DEFAULT_BUCKET_EDGES) -> list[str]:
    """Readable labels, e.g. ``["[0, 0.5)", ..., "[0.95, 1]"]``."""
    e = check_bucket_edges(edges)
    last = len(e) - 2
    return [
        f"[{lo:g}, {hi:g}" + ("]" if index == last else ")")
        for index, (lo, hi) in enumerate(itertools.pairwise(e))
    ]


def count_metrics_by_bucket(
    y_true: np.ndarray,
    expected: np.ndarray,
    log_prob: np.ndarray,
    train_counts: np.ndarray,
    edges: Sequence[float] = DEFAULT_BUCKET_EDGES,
) -> list[dict[str, float | int | str | None]]:
    """Count metrics pooled over the cells of each sparsity bucket's nodes.

    Args:
        y_true, expected, log_prob: (T, N) test-period arrays.
        train_counts: (T_train, N) training counts; they decide the buckets only.
        edges: zero-share bucket edges (see :func:`sparsity_buckets`).

    Returns:
        One row per bucket: ``bucket`` (label), ``n_nodes``, ``mae``, ``rmse``, ``nll``;
        the metrics are None for a bucket with no nodes.
    """
    bucket = sparsity_buckets(train_counts, edges)
    if bucket.size != np.shape(y_true)[-1]:
        raise FaseInputError(
            "train_counts", f"has {bucket.size} nodes but y_true has {np.shape(y_true)[-1]}"
        )
    y, mu, lp = (np.asarray(a) for a in (y_true, expected, log_prob))
    rows: list[dict[str, float | int | str | None]] = []
    for index, label in enumerate(bucket_labels(edges)):
        members = bucket == index
        row: dict[str, float | int | str | None] = {"bucket": label, "n_nodes": int(members.sum())}
        if members.any():
            scores = count_metrics(y[:, members], mu[:, members], lp[:, members])
            row |= {name: float(value) for name, value in scores.items()}
        else:
            row |= {"mae": None, "rmse": None, "nll": None}
        rows.append(row)
    return rows
