"""Batch loaders: worker processes yield exactly the in-process batches, pass after pass,
and training with loader workers reproduces training without them bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from tests.training.helpers import run, synthetic_series

from fase.training import CountSeries
from fase.training.loading import InProcessLoader, WorkerLoader, make_loader

CPU = torch.device("cpu")


def chunks_of(seed: int) -> list[np.ndarray]:
    """Shuffled window starts of the synthetic series in uneven chunks (5, 5, 3)."""
    starts = np.random.default_rng(seed).permutation(np.arange(0, 200, 15))[:13]
    return [starts[:5], starts[5:10], starts[10:]]


def test_worker_batches_equal_in_process_batches_on_every_pass() -> None:
    series = CountSeries(*synthetic_series(), history_steps=3)
    in_process = InProcessLoader(series, 16, CPU)
    workers = WorkerLoader(series, 16, CPU, workers=2)
    try:
        for seed in (0, 1):  # the second pass reuses the persistent workers
            chunks = chunks_of(seed)
            expected = list(in_process.batches(chunks))
            got = list(workers.batches(chunks))
            assert len(got) == len(expected) == 3
            for mine, theirs in zip(got, expected, strict=True):
                for a, b in zip(mine, theirs, strict=True):
                    assert torch.equal(a, b)
        first = expected[0]
        x, y = synthetic_series()
        s = int(chunks_of(1)[0][0])  # window 0 of the last pass, checked against the arrays
        np.testing.assert_array_equal(first.x[0].numpy(), x[:, s : s + 16])
        np.testing.assert_array_equal(first.target[0].numpy(), y[:, s : s + 16])
    finally:
        workers.close()
    with pytest.raises(RuntimeError, match="closed"):
        next(workers.batches(chunks_of(0)))


def test_make_loader_picks_in_process_for_zero_workers() -> None:
    series = CountSeries(*synthetic_series(), history_steps=0)
    assert isinstance(make_loader(series, 16, CPU, 0), InProcessLoader)
    with pytest.raises(ValueError, match="at least one worker"):
        WorkerLoader(series, 16, CPU, workers=0)


def test_training_with_loader_workers_is_bitwise_the_same(tmp_path: Path) -> None:
    results = {}
    for workers in (0, 1):
        model, result = run(tmp_path / str(workers), epochs=2, loader_workers=workers)
        log = [(r["train_loss"], r["val_loss"]) for r in result.state.log]
        results[workers] = (log, result.test_loss, model.state_dict())
    assert results[0][:2] == results[1][:2]
    for name, value in results[0][2].items():
        assert torch.equal(value, results[1][2][name]), name
