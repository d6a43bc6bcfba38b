"""Data-parallel training: the sharding arithmetic, and 2 gloo processes under torchrun
against 1 process — same weights, one writer, exact resume, and ``fase train --nproc 2``.

This file is also the torchrun worker (``python -m torch.distributed.run … this_file OUT``):
each rank trains the scenarios below and reports what it did in ``OUT/rank<r>.json``.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from fase.config.training import TrainingConfig
from fase.errors import FaseInputError
from fase.models.distributions import CountDistribution, Poisson
from fase.training import CountSeries, SplitWindows, fit, window_starts
from fase.training.distributed import (
    SERIAL,
    Sharding,
    rank_seed,
    resolve_device,
    torchrun_command,
)

REPO = Path(__file__).resolve().parents[2]
LAUNCH_TIMEOUT_S = 240


class LinearPoisson(nn.Module):
    """Poisson with log μ = x·w + a·y_{t−1} + b per element, in float64 (so that one and
    two processes can be compared far below the 1e-5 tolerance)."""

    history_steps = 1

    def __init__(self, features: int) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.w = nn.Parameter(0.1 * torch.randn(features, generator=generator).double())
        self.a = nn.Parameter(torch.tensor(0.1, dtype=torch.float64))
        self.b = nn.Parameter(torch.tensor(-0.5, dtype=torch.float64))

    def forward(self, x: Tensor, y_hist: Tensor) -> dict[str, Tensor]:
        lag = y_hist[..., :-1].double()  # (B, N, W): the count of the bin before each position
        return {"mu": torch.exp(x.double() @ self.w + self.a * lag + self.b)}

    def distribution(self, params: dict[str, Tensor]) -> CountDistribution:
        return Poisson(params["mu"])


def linear_setup() -> tuple[LinearPoisson, CountSeries, SplitWindows, TrainingConfig]:
    """21 training windows in batches of 5 (the last has 1: rank 1's part is empty;
    the others split 3/2) and 5 validation windows; 3 epochs = 15 Adam steps."""
    from tests.training.helpers import SPLIT, synthetic_series

    x, y = synthetic_series()
    config = TrainingConfig(
        window=16,
        stride=8,
        batch_size=5,
        epochs=3,
        lr=0.05,
        early_stopping_patience=None,
        test_checkpoint="last",
        threads=1,
    )
    train = window_starts(*SPLIT["train"], 16, 8)[:21]
    val = window_starts(*SPLIT["val"], 16, 8)
    model = LinearPoisson(x.shape[-1])
    return model, CountSeries(x, y, 1), SplitWindows(train, val), config


def fase_setup(**training: Any) -> tuple[nn.Module, CountSeries, SplitWindows, TrainingConfig]:
    """Tiny FASE without dropout, batches of 5 (parts of 3 and 2), best-checkpoint scoring."""
    from tests.training.helpers import synthetic_series, tiny_model, tiny_training, tiny_windows

    config = tiny_training(batch_size=5, epochs=3, early_stopping_patience=None, **training)
    model = tiny_model(dropout=0.0)
    x, y = synthetic_series()
    return model, CountSeries(x, y, model.history_steps), tiny_windows(config), config


def state_of(model: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone().cpu() for k, v in model.state_dict().items()}


def log_of(result: Any) -> list[list[float]]:
    return [[r["train_loss"], r["val_loss"], r["lr"]] for r in result.state.log]


# --------------------------------------------------------------------------- worker side


class Interrupted(Exception):
    """Raised on every rank after epoch 2 to simulate a killed run."""


def worker(out: Path, city_config: Path) -> None:
    """One rank: the linear model, FASE full / cut + resumed (counting this rank's file
    writes), then ``fase train`` on the tiny city as this rank."""
    import fase.training.engine as engine
    from fase.training.distributed import current_sharding, init_from_env

    torch.set_num_threads(1)
    sharding = init_from_env("cpu")
    writes = {"checkpoints": 0, "logs": 0}

    def counted(function: Any, key: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            writes[key] += 1
            return function(*args, **kwargs)

        return call

    engine.save_checkpoint = counted(engine.save_checkpoint, "checkpoints")
    engine.write_training_log = counted(engine.write_training_log, "logs")
    report: dict[str, Any] = {"rank": sharding.rank, "world": sharding.world_size}

    model, series, windows, config = linear_setup()
    result = fit(model, series, windows, config, seed=3, out_dir=out / "linear", progress=False)
    report["linear_log"] = log_of(result)
    if sharding.is_main:
        torch.save(state_of(model), out / "linear.pt")

    model, series, windows, config = fase_setup()
    result = fit(model, series, windows, config, seed=3, out_dir=out / "full", progress=False)
    report["fase_log"] = log_of(result)
    report["fase_test"] = result.test_loss
    full = state_of(model)

    def kill_after_two(state: Any) -> None:
        if state.epoch == 2:
            raise Interrupted

    model, series, windows, config = fase_setup()
    with contextlib.suppress(Interrupted):
        fit(
            model, series, windows, config, seed=3, out_dir=out / "cut", on_epoch_end=kill_after_two
        )
    torch.rand(1000)  # the RNG moves on before the restart: the resume must restore it
    model, series, windows, config = fase_setup()
    torch.nn.init.zeros_(next(model.parameters()))  # everything must come from last.pt
    result = fit(model, series, windows, config, seed=3, out_dir=out / "cut", resume=True)
    report["resumed_log"] = log_of(result)
    report["resume_matches"] = all(torch.equal(full[k], v) for k, v in state_of(model).items())
    report["writes"] = writes
    report["sharding_seen_by_fit"] = current_sharding().world_size
    if sharding.is_main:
        torch.save(full, out / "fase.pt")
    (out / f"rank{sharding.rank}.json").write_text(json.dumps(report))

    from fase.cli import app  # a worker torchrun started: trains as its rank, then shuts down

    app(["train", "--config", str(city_config), "--out", str(out / "cli"), "--no-progress"])


# --------------------------------------------------------------------------- test side


def test_shards_partition_every_minibatch_in_order() -> None:
    chunk = np.array([7, 3, 9, 1, 4])
    parts = [Sharding(r, 2).shard(chunk) for r in range(2)]
    assert [p.tolist() for p in parts] == [[7, 3, 9], [1, 4]]
    assert [Sharding(r, 3).shard(np.array([5])).tolist() for r in range(3)] == [[5], [], []]
    assert SERIAL.shard(chunk) is not None and SERIAL.shard(chunk).tolist() == chunk.tolist()


def test_scaled_rank_gradients_average_to_the_global_mean_gradient() -> None:
    """DDP's average of R·(n_r/n)·∇L_r is ∇ of the mean over all n windows, for 3/2 parts
    and for 1/0 parts (the empty rank contributes a weight-0 window)."""
    model, series, _, _ = linear_setup()

    def grads(starts: np.ndarray, scale: float) -> Tensor:
        model.zero_grad()
        batch = series.batch(starts, 16)
        nll = -model.distribution(model(batch.x, batch.y_hist)).log_prob(batch.target).mean()
        (nll * scale).backward()
        return torch.cat([p.grad.flatten() for p in model.parameters()])

    for chunk in (np.array([0, 8, 16, 24, 32]), np.array([40])):
        expected = grads(chunk, 1.0)
        averaged = torch.zeros_like(expected)
        for rank in range(2):
            sharding = Sharding(rank, 2)
            part = sharding.shard(chunk)
            run = part if len(part) else chunk[:1]
            averaged += grads(run, sharding.loss_scale(len(part), len(chunk))) / 2
        torch.testing.assert_close(averaged, expected, rtol=1e-12, atol=1e-14)


def test_global_batch_means_are_serial_without_a_process_group() -> None:
    assert SERIAL.batch_means([0.5, 0.25], [4, 1], [4, 1]) == [0.5, 0.25]
    assert SERIAL.loss_scale(5, 5) == 1.0
    assert Sharding(0, 2).loss_scale(3, 5) == pytest.approx(1.2)


def test_devices_and_rank_seeds() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert resolve_device("auto") == torch.device("cpu")
        with pytest.raises(FaseInputError, match="no GPU"):
            resolve_device("cuda")
    seeds = {rank_seed(3, r) for r in range(1, 5)} | {rank_seed(4, 1)}
    assert len(seeds) == 5 and rank_seed(3, 1) == rank_seed(3, 1)


def test_torchrun_command_relaunches_fase_on_this_interpreter() -> None:
    command = torchrun_command(2, ["train", "--out", "run"])
    assert command[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert "--standalone" in command and "--nproc-per-node=2" in command
    assert command[-3:] == ["train", "--out", "run"]


def tiny_city(root: Path) -> Path:
    """Two weeks of random incidents on the 3×3 test grid; its config (tiny model)."""
    import pandas as pd
    import yaml
    from tests.helpers.city import TINY_TRAINING, write_city

    rng = np.random.default_rng(1)
    times = pd.Timestamp("2017-03-01") + pd.to_timedelta(rng.integers(0, 20_160, 600), "min")
    frame = pd.DataFrame(
        {"time": times.strftime("%Y-%m-%d %H:%M:%S"), "node": rng.integers(1, 10, 600)}
    )
    city = write_city(root, frame, "2017-03-01", "2017-03-15")
    city.config.write_text(yaml.safe_dump(yaml.safe_load(city.config.read_text()) | TINY_TRAINING))
    return city.config


def torchrun(out: Path) -> None:
    """This file as the worker of 2 gloo processes (torchrun picks a free port)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    launch += ["--nproc-per-node=2", str(Path(__file__).resolve()), str(out)]
    launch.append(str(tiny_city(out / "city")))
    done = subprocess.run(
        launch, env=env, capture_output=True, text=True, timeout=LAUNCH_TIMEOUT_S, cwd=REPO
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ddp")
    torchrun(out)
    return out


def test_two_processes_reach_the_weights_of_one_with_the_same_global_batch(
    ddp_run: Path, tmp_path: Path
) -> None:
    model, series, windows, config = linear_setup()
    serial = fit(model, series, windows, config, seed=3, out_dir=tmp_path, progress=False)
    ranks = [json.loads((ddp_run / f"rank{r}.json").read_text()) for r in range(2)]
    assert [r["sharding_seen_by_fit"] for r in ranks] == [2, 2]
    ddp = torch.load(ddp_run / "linear.pt", weights_only=True)
    moved = 0.0
    for name, value in state_of(model).items():
        assert torch.allclose(ddp[name], value, rtol=0, atol=1e-5), name
        moved = max(moved, float((value - LinearPoisson(13).state_dict()[name]).abs().max()))
    assert moved > 0.05  # 15 Adam steps of lr 0.05 moved the weights well beyond 1e-5
    for rank in ranks:  # the logged and validation losses are the global ones
        np.testing.assert_allclose(rank["linear_log"], log_of(serial), rtol=1e-9)


def test_two_processes_train_tiny_fase_like_one(ddp_run: Path, tmp_path: Path) -> None:
    model, series, windows, config = fase_setup()
    serial = fit(model, series, windows, config, seed=3, out_dir=tmp_path, progress=False)
    ranks = [json.loads((ddp_run / f"rank{r}.json").read_text()) for r in range(2)]
    np.testing.assert_allclose(ranks[0]["fase_log"], log_of(serial), rtol=1e-6)
    assert ranks[0]["fase_log"] == ranks[1]["fase_log"]  # every rank sees the same losses
    assert ranks[0]["fase_test"] == pytest.approx(serial.test_loss, rel=1e-5)
    ddp = torch.load(ddp_run / "fase.pt", weights_only=True)
    for name, value in state_of(model).items():
        assert torch.allclose(ddp[name], value, rtol=0, atol=1e-5), name  # float32: ~6e-8


def test_rank_zero_alone_writes_one_log_and_one_checkpoint_and_resume_is_exact(
    ddp_run: Path,
) -> None:
    ranks = [json.loads((ddp_run / f"rank{r}.json").read_text()) for r in range(2)]
    assert ranks[1]["writes"] == {"checkpoints": 0, "logs": 0}
    # linear 3 epochs + full 3 + cut 2 + resumed 1: last.pt per epoch, best.pt when better
    assert ranks[0]["writes"]["logs"] == 9 and ranks[0]["writes"]["checkpoints"] >= 9
    for run in ("linear", "full", "cut"):
        files = sorted(str(p.relative_to(ddp_run / run)) for p in (ddp_run / run).rglob("*"))
        assert files == [
            "checkpoints",
            "checkpoints/best.pt",
            "checkpoints/last.pt",
            "training_log.csv",
        ]
    assert all(r["resume_matches"] for r in ranks)
    assert ranks[0]["resumed_log"] == ranks[0]["fase_log"]
    last = torch.load(ddp_run / "cut" / "checkpoints" / "last.pt", weights_only=True)
    cpu_states = [state["cpu"] for state in last["rank_rng"]]
    assert len(cpu_states) == 2 and not torch.equal(*cpu_states)  # each rank's dropout stream


def test_fase_train_as_two_ranks_trains_once_and_writes_once(ddp_run: Path) -> None:
    import pandas as pd
    import yaml

    run_dir = ddp_run / "cli"
    assert pd.read_csv(run_dir / "training_log.csv")["epoch"].tolist() == [1, 2]
    assert (run_dir / "forecast" / "forecast.npz").is_file()
    info = json.loads((run_dir / "run_info.json").read_text())
    assert [c["command"] for c in info["commands"]] == ["fase train --nproc 2"]  # rank 0 only
    assert info["commands"][0]["processes"] == 2
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["training"]["threads"] == 1
    last = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
    assert len(last["rank_rng"]) == 2


def test_fase_train_nproc_relaunches_itself_under_torchrun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from fase.cli import app
    from fase.config import load_config
    from fase.rundir import config_to_yaml

    launched: list[tuple[list[str], dict[str, str]]] = []

    def fake_run(command: list[str], env: dict[str, str], check: bool) -> Any:
        launched.append((command, env))
        return subprocess.CompletedProcess(command, 3 if len(launched) > 1 else 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    runner = CliRunner()
    run_dir = tmp_path / "run"
    result = runner.invoke(app, ["train", "--out", str(run_dir), "--nproc", "2", "--seed", "4"])
    assert result.exit_code == 0, result.output
    command, env = launched[0]
    assert "--nproc-per-node=2" in command and "--nproc" not in command
    relaunched = command[command.index("train") :]
    assert relaunched[:5] == ["train", "--seed", "4", "--out", str(run_dir.resolve())]
    assert relaunched[5:] == ["--threads", "1", "--device", "cpu", "--loader-workers", "0"]
    assert env["OMP_NUM_THREADS"] == "1"
    (run_dir / "config.yaml").write_text(config_to_yaml(load_config()))
    result = runner.invoke(app, ["train", "--resume", str(run_dir), "--nproc", "2"])
    assert result.exit_code == 3  # torchrun's status
    assert ["train", "--resume", str(run_dir.resolve())] == launched[1][0][-9:-6]
    result = runner.invoke(app, ["train", "--nproc", "2"])
    assert result.exit_code == 2 and "--out" in result.output
    result = runner.invoke(app, ["train", "--out", str(run_dir), "--device", "gpu"])
    assert result.exit_code == 2 and "unknown device" in result.output
    if torch.cuda.device_count() < 2:  # refused before any process starts
        arguments = ["train", "--out", str(run_dir), "--nproc", "2", "--device", "cuda"]
        result = runner.invoke(app, arguments)
        assert result.exit_code == 2 and "GPU" in result.output
    assert len(launched) == 2


if __name__ == "__main__":
    worker(Path(sys.argv[1]), Path(sys.argv[2]))
