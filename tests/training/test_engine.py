"""The training engine: determinism, exact resume, early stopping, checkpoint choice,
loss reductions and the reusable retraining loop."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats
from tests.training.helpers import (
    ConstantPoisson,
    ScheduledPoisson,
    run,
    synthetic_series,
    tiny_model,
    tiny_training,
    tiny_windows,
)

from fase.errors import FaseInputError
from fase.training import (
    CountSeries,
    evaluate_loss,
    fit,
    load_checkpoint,
    train_epochs,
    window_starts,
)


class Interrupted(Exception):
    """Raised from the epoch callback to simulate a kill after an epoch."""


def losses(result) -> list[tuple[float, float, float]]:
    return [(r["train_loss"], r["val_loss"], r["lr"]) for r in result.state.log]


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    for (name, p), (_, q) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(p, q), name


def test_same_seed_gives_identical_logs_and_weights(tmp_path: Path) -> None:
    model_a, result_a = run(tmp_path / "a")
    model_b, result_b = run(tmp_path / "b")
    assert losses(result_a) == losses(result_b)  # equal to the bit
    assert_same_weights(model_a, model_b)
    _, result_c = run(tmp_path / "c", seed=4)  # another shuffle order changes the losses
    assert losses(result_c) != losses(result_a)
    with open(tmp_path / "a" / "training_log.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["epoch", "train_loss", "val_loss", "lr", "seconds"]
    assert [float(r["val_loss"]) for r in rows] == [r[1] for r in losses(result_a)]


def test_resume_after_a_kill_reproduces_the_uninterrupted_run(tmp_path: Path) -> None:
    settings = {"epochs": 5, "lr": 0.05, "plateau_patience": 0, "early_stopping_patience": None}
    full_model, full = run(tmp_path / "full", **settings)
    assert len({r[2] for r in losses(full)}) > 1  # the LR was reduced: scheduler state matters

    config = tiny_training(**settings)
    x, y = synthetic_series()

    def kill_after_two(state) -> None:
        if state.epoch == 2:
            raise Interrupted

    model = tiny_model()
    with pytest.raises(Interrupted):
        fit(
            model,
            CountSeries(x, y, model.history_steps),
            tiny_windows(config),
            config,
            seed=3,
            out_dir=tmp_path / "cut",
            progress=False,
            on_epoch_end=kill_after_two,
        )
    torch.rand(1000)  # the global RNG moves on before the restart; resume must restore it
    resumed = tiny_model(seed=99)  # fresh weights: everything must come from last.pt
    result = fit(
        resumed,
        CountSeries(x, y, resumed.history_steps),
        tiny_windows(config),
        config,
        seed=3,
        out_dir=tmp_path / "cut",
        resume=True,
        progress=False,
    )
    assert losses(result) == losses(full)
    assert_same_weights(resumed, full_model)


def test_resume_before_the_first_checkpoint_trains_the_run_from_its_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full_model, full = run(tmp_path / "full", epochs=3)
    (tmp_path / "cut").mkdir()  # killed before its first epoch ended: no last.pt
    model, result = run(tmp_path / "cut", epochs=3, resume=True)
    assert "no checkpoint yet" in capsys.readouterr().err
    assert losses(result) == losses(full)
    assert_same_weights(model, full_model)


def test_resume_refuses_a_checkpoint_of_another_configuration(tmp_path: Path) -> None:
    run(tmp_path, epochs=1)
    config = tiny_training(epochs=2, batch_size=5)
    model = tiny_model()
    with pytest.raises(FaseInputError, match="another training configuration"):
        fit(
            model,
            CountSeries(*synthetic_series(), model.history_steps),
            tiny_windows(config),
            config,
            seed=3,
            out_dir=tmp_path,
            resume=True,
            progress=False,
        )


def counts_train_zero_then(value: int) -> CountSeries:
    """Training counts 0; validation and test counts all equal ``value``."""
    x, _ = synthetic_series()
    y = np.zeros((5, 300))
    y[:, 200:] = value
    return CountSeries(x, y, 0)


def poisson_nll(mu: float, count: int) -> float:
    return -float(stats.poisson.logpmf(count, mu))


def test_early_stopping_stops_patience_epochs_after_the_best(tmp_path: Path) -> None:
    schedule = [5.0, 4.0, 3.0, 2.5, 1.0, 0.8, 0.7, 2.0, 2.0, 2.0]  # best μ = 2.5 at epoch 4
    model = ScheduledPoisson(schedule)
    config = tiny_training(epochs=10, early_stopping_patience=3)

    def next_epoch(state) -> None:
        model.epoch = state.epoch

    result = fit(
        model,
        counts_train_zero_then(2),
        tiny_windows(config),
        config,
        seed=0,
        out_dir=tmp_path,
        progress=False,
        on_epoch_end=next_epoch,
    )
    state = result.state
    assert (state.epoch, state.best_epoch, state.stopped) == (7, 4, True)  # μ = 2.0 never tried
    val = [r["val_loss"] for r in state.log]
    assert val == pytest.approx([poisson_nll(mu, 2) for mu in schedule[:7]], rel=1e-6)
    assert load_checkpoint(tmp_path / "checkpoints" / "best.pt")["epoch"] == 4

    model.epoch = 0
    paper = tiny_training(epochs=10, early_stopping_patience=None)
    result = fit(
        model,
        counts_train_zero_then(2),
        tiny_windows(paper),
        paper,
        seed=0,
        out_dir=tmp_path / "paper",
        progress=False,
        on_epoch_end=next_epoch,
    )
    assert (result.state.epoch, result.state.best_epoch, result.state.stopped) == (10, 8, False)


@pytest.mark.parametrize("which", ["best", "last"])
def test_test_score_uses_the_configured_checkpoint(tmp_path: Path, which: str) -> None:
    # μ starts at 4 and falls every step (training counts are 0); validation counts are 2,
    # so the validation NLL first improves, then worsens once μ passes below 2.
    model = ConstantPoisson(4.0)
    config = tiny_training(
        epochs=12,
        lr=0.3,
        batch_size=100,
        early_stopping_patience=None,
        plateau_patience=100,
        test_checkpoint=which,
    )
    result = fit(
        model,
        counts_train_zero_then(2),
        tiny_windows(config),
        config,
        seed=0,
        out_dir=tmp_path,
        progress=False,
    )
    val = [r["val_loss"] for r in result.state.log]
    best_epoch = int(np.argmin(val)) + 1
    assert 1 < best_epoch < 12 and result.state.best_epoch == best_epoch
    best_w = load_checkpoint(tmp_path / "checkpoints" / "best.pt")["model"]["w"]
    last_w = load_checkpoint(tmp_path / "checkpoints" / "last.pt")["model"]["w"]
    scored_w = best_w if which == "best" else last_w
    mu = float(torch.nn.functional.softplus(scored_w))
    assert result.test_loss == pytest.approx(poisson_nll(mu, 2), rel=1e-6)
    other = float(torch.nn.functional.softplus(last_w if which == "best" else best_w))
    assert result.test_loss != pytest.approx(poisson_nll(other, 2), rel=1e-3)
    assert result.scored_epoch == (best_epoch if which == "best" else 12)
    assert torch.equal(model.w.detach(), scored_w)  # the model is left with the scored weights


def test_loss_reductions_weigh_a_short_last_batch_as_defined() -> None:
    x, _ = synthetic_series()
    y = np.zeros((5, 300))
    counts = [0, 1, 3, 6]
    for k, c in enumerate(counts):
        y[:, 10 * k : 10 * (k + 1)] = c  # window k (10 bins) holds count c everywhere
    model = ConstantPoisson(1.5)
    series, starts = CountSeries(x, y, 0), window_starts(0, 40, 10, 10)
    per_window = [poisson_nll(1.5, c) for c in counts]
    element = evaluate_loss(model, series, starts, window=10, batch_size=3)
    batched = evaluate_loss(model, series, starts, window=10, batch_size=3, reduction="batch_mean")
    assert element == pytest.approx(np.mean(per_window), rel=1e-6)
    assert batched == pytest.approx((np.mean(per_window[:3]) + per_window[3]) / 2, rel=1e-6)


def test_train_epochs_takes_one_step_per_minibatch_and_is_reproducible() -> None:
    x, y = synthetic_series()
    series = CountSeries(x, y, 24)
    starts = window_starts(250, 300, 16, 16)  # 3 windows

    def retrain() -> tuple[list[float], torch.nn.Module, torch.optim.Adam]:
        model = tiny_model()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
        history = train_epochs(
            model,
            series,
            starts,
            optimizer,
            epochs=2,
            window=16,
            batch_size=1,
            generator=torch.Generator().manual_seed(5),
            grad_clip=5.0,
        )
        return history, model, optimizer

    history, model, optimizer = retrain()
    again, model_again, _ = retrain()
    assert len(history) == 2 and history == again
    assert_same_weights(model, model_again)
    steps = {int(s["step"]) for s in optimizer.state_dict()["state"].values()}
    assert steps == {6}  # 3 windows × 2 epochs, batch of one window


def test_a_validation_loss_that_is_never_finite_is_reported(tmp_path: Path) -> None:
    config = tiny_training(epochs=2)
    with pytest.raises(FaseInputError, match="never finite"):
        fit(
            ScheduledPoisson([float("nan")]),
            counts_train_zero_then(2),
            tiny_windows(config),
            config,
            seed=0,
            out_dir=tmp_path,
            progress=False,
        )


def test_piped_output_shows_one_plain_line_per_epoch(tmp_path: Path, capsys) -> None:
    """Without a terminal (pytest captures stderr) the default progress is one plain
    line per epoch with the epoch's losses; ``progress=False`` prints nothing."""
    config = tiny_training(epochs=3, early_stopping_patience=None)
    x, y = synthetic_series()
    model = tiny_model()
    result = fit(
        model, CountSeries(x, y, model.history_steps), tiny_windows(config), config,
        seed=3, out_dir=tmp_path / "piped",
    )  # fmt: skip
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("training")]
    assert len(lines) == 3
    last = result.state.log[-1]
    assert lines[-1] == (
        f"training epoch 3/3: train {last['train_loss']:.4f}, val {last['val_loss']:.4f}, "
        f"lr {last['lr']:.1e}"
    )
    fit(
        tiny_model(), CountSeries(x, y, model.history_steps), tiny_windows(config), config,
        seed=3, out_dir=tmp_path / "quiet", progress=False,
    )  # fmt: skip
    assert "training epoch" not in capsys.readouterr().err
