"""The commands that read a run folder (``fase train --resume``, ``evaluate``,
``allocate``, ``simulate``, ``report``, ``serve``) against missing, half-written,
corrupt and foreign artefacts, and ``fase train`` against careless options: one clear
error naming the file or option (exit status 2), never a traceback, and nothing run."""

from __future__ import annotations

import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from tests.hostile.cli import invoke, refused
from tests.simulation.trained_run import TINY, write_trained_run

from fase.config import load_config
from fase.phases.train import train_run


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny FASE run trained for one epoch, and the same run fitted with another
    model (historical_average); never changed by a test."""
    root = tmp_path_factory.mktemp("hostile-runs")
    run = write_trained_run(root)
    other = root / "other"
    shutil.copytree(run, other)
    city_config = root / "city" / "config.yaml"
    cfg = load_config(
        config_path=city_config, overrides=TINY | {"forecaster": "historical_average"}
    )
    train_run(cfg, other, progress=False)
    return {"run": run, "other": other, "config": city_config}


@pytest.fixture
def run_dir(pristine: dict[str, Path], tmp_path: Path) -> Path:
    """A copy of the trained run for one test to spoil."""
    return Path(shutil.copytree(pristine["run"], tmp_path / "run"))


@pytest.fixture(autouse=True)
def never_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    """``fase serve`` must refuse before it listens; and no API key comes from outside."""
    import uvicorn

    def serve(*args: object, **kwargs: object) -> None:
        raise AssertionError("fase serve started listening")

    monkeypatch.setattr(uvicorn, "run", serve)
    monkeypatch.delenv("FASE_SERVE_TOKEN", raising=False)


def truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def edit_config(run: Path, change: Callable[[dict], object]) -> None:
    path = run / "config.yaml"
    config = yaml.safe_load(path.read_text())
    change(config)
    path.write_text(yaml.safe_dump(config))


def not_a_run(run: Path) -> None:
    shutil.rmtree(run)
    run.mkdir()
    (run / "notes.txt").write_text("holiday photos\n")


def foreign_checkpoint(run: Path) -> None:
    torch.save({"weights": torch.zeros(3)}, run / "checkpoints" / "last.pt")


def checkpoint_of_another_config(run: Path) -> None:
    path = run / "checkpoints" / "last.pt"
    payload = torch.load(path, weights_only=True)
    payload["fingerprint"] = "another run's"
    torch.save(payload, path)


def other_models_state(run: Path, pristine: dict[str, Path]) -> None:
    shutil.copy(pristine["other"] / "model" / "state.npz", run / "model" / "state.npz")


def zero_epochs(config: Path, path: Path) -> None:
    content = yaml.safe_load(config.read_text())
    path.write_text(yaml.safe_dump(content | {"training": {"epochs": 0}}))


def bomb_config(run: Path) -> None:
    anchors = ["l0: &l0 [" + ", ".join(['"lol"'] * 9) + "]"]
    anchors += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)]
    path = run / "config.yaml"
    path.write_text("\n".join(anchors) + "\n" + path.read_text())


FORECAST = ("forecast", "forecast.npz")
STATE = ("model", "state.npz")

# name → (how the run folder is spoilt, the command with {run}, {other} and {config}
# placeholders, what the error line must name)
Spoil = Callable[[Path, dict[str, Path]], object]
CASES: dict[str, tuple[Spoil, list[str], str | tuple[str, ...]]] = {
    # -- fase train ------------------------------------------------------------------
    "train --resume a folder that is not a run": (
        lambda r, p: not_a_run(r),
        ["train", "--resume", "{run}"],
        "config.yaml",
    ),
    "train --resume with tensors.npz truncated": (
        lambda r, p: truncate(r / "data" / "tensors.npz"),
        ["train", "--resume", "{run}"],
        "tensors.npz",
    ),
    "train --resume with last.pt of garbage": (
        lambda r, p: (r / "checkpoints" / "last.pt").write_bytes(b"not a checkpoint " * 64),
        ["train", "--resume", "{run}"],
        "last.pt",
    ),
    "train --resume with last.pt truncated": (
        lambda r, p: truncate(r / "checkpoints" / "last.pt"),
        ["train", "--resume", "{run}"],
        "last.pt",
    ),
    "train --resume with a foreign last.pt": (
        lambda r, p: foreign_checkpoint(r),
        ["train", "--resume", "{run}"],
        "last.pt",
    ),
    "train --resume with last.pt of another configuration": (
        lambda r, p: checkpoint_of_another_config(r),
        ["train", "--resume", "{run}"],
        "last.pt",
    ),
    "train --resume with the checkpoints deleted": (
        lambda r, p: shutil.rmtree(r / "checkpoints"),
        ["train", "--resume", "{run}"],
        "last.pt",
    ),
    "train --resume with a config.yaml that is no run config": (
        lambda r, p: edit_config(r, lambda c: c.update(seed="many")),
        ["train", "--resume", "{run}"],
        "config.yaml",
    ),
    "train --model unknown": (
        lambda r, p: None,
        ["train", "--config", "{config}", "--model", "nope", "--out", "{run}/new"],
        "--model",
    ),
    "train --model dnn_levels (comparison only)": (
        lambda r, p: None,
        ["train", "--config", "{config}", "--model", "dnn_levels", "--out", "{run}/new"],
        "--model",
    ),
    "train with epochs 0": (
        lambda r, p: zero_epochs(p["config"], r / "epochs.yaml"),
        ["train", "--config", "{run}/epochs.yaml", "--out", "{run}/new"],
        ("epochs.yaml", "training.epochs"),
    ),
    "train --seed beyond 64 bits": (
        lambda r, p: None,
        ["train", "--config", "{config}", "--seed", str(2**64), "--out", "{run}/new"],
        "--seed",
    ),
    "train --out is a file": (
        lambda r, p: None,
        ["train", "--config", "{config}", "--out", "{run}/config.yaml"],
        "--out",
    ),
    # -- fase evaluate ---------------------------------------------------------------
    "evaluate a missing folder": (
        lambda r, p: shutil.rmtree(r),
        ["evaluate", "{run}"],
        "forecast.npz",
    ),
    "evaluate with forecast.npz truncated": (
        lambda r, p: truncate(r.joinpath(*FORECAST)),
        ["evaluate", "{run}"],
        "forecast.npz",
    ),
    "evaluate a forecast.npz of another kind": (
        lambda r, p: np.savez(r.joinpath(*FORECAST), weights=np.zeros(3)),
        ["evaluate", "{run}"],
        "forecast.npz",
    ),
    "evaluate with meta.json not JSON": (
        lambda r, p: (r / "data" / "meta.json").write_text('{"groups": ['),
        ["evaluate", "{run}"],
        "meta.json",
    ),
    # -- fase allocate ---------------------------------------------------------------
    "allocate with forecast.npz truncated": (
        lambda r, p: truncate(r.joinpath(*FORECAST)),
        ["allocate", "{run}"],
        "forecast.npz",
    ),
    "allocate with an allocation section that is a list": (
        lambda r, p: edit_config(r, lambda c: c.update(allocation=["paper"])),
        ["allocate", "{run}"],
        "config.yaml",
    ),
    "allocate with an alias bomb as config.yaml": (
        lambda r, p: bomb_config(r),
        ["allocate", "{run}"],
        "config.yaml",
    ),
    # -- fase simulate ---------------------------------------------------------------
    "simulate with config.yaml deleted": (
        lambda r, p: (r / "config.yaml").unlink(),
        ["simulate", "{run}"],
        "config.yaml",
    ),
    "simulate with model/state.npz of another model": (
        other_models_state,
        ["simulate", "{run}"],
        "state.npz",
    ),
    "simulate with model/state.npz truncated": (
        lambda r, p: truncate(r.joinpath(*STATE)),
        ["simulate", "{run}"],
        "state.npz",
    ),
    "simulate with forecaster.json not JSON": (
        lambda r, p: (r / "model" / "forecaster.json").write_text("{'name': fase"),
        ["simulate", "{run}"],
        "forecaster.json",
    ),
    "simulate with forecaster.json naming another model": (
        lambda r, p: (r / "model" / "forecaster.json").write_text('{"name": "hawkes"}'),
        ["simulate", "{run}"],
        "forecaster.json",
    ),
    "simulate with graph.npz truncated": (
        lambda r, p: truncate(r / "graph" / "graph.npz"),
        ["simulate", "{run}"],
        "graph.npz",
    ),
    "simulate --period 0d": (
        lambda r, p: None,
        ["simulate", "{run}", "--period", "0d"],
        "--period",
    ),
    # -- fase report -----------------------------------------------------------------
    "report a missing folder": (lambda r, p: shutil.rmtree(r), ["report", "{run}"], "run"),
    "report with forecast.npz truncated": (
        lambda r, p: truncate(r.joinpath(*FORECAST)),
        ["report", "{run}"],
        "forecast.npz",
    ),
    "report with an alias bomb as config.yaml": (
        lambda r, p: bomb_config(r),
        ["report", "{run}"],
        "config.yaml",
    ),
    # -- fase serve ------------------------------------------------------------------
    "serve a missing folder": (lambda r, p: shutil.rmtree(r), ["serve", "{run}"], "config.yaml"),
    "serve --period 0d": (lambda r, p: None, ["serve", "{run}", "--period", "0d"], "--period"),
    "serve --host 0.0.0.0 without a key": (
        lambda r, p: None,
        ["serve", "{run}", "--host", "0.0.0.0"],
        "--host",
    ),
    "serve --token-file that does not exist": (
        lambda r, p: None,
        ["serve", "{run}", "--token-file", "{run}/no-such-token"],
        "no-such-token",
    ),
    "serve with config.yaml deleted": (
        lambda r, p: (r / "config.yaml").unlink(),
        ["serve", "{run}"],
        "config.yaml",
    ),
    "serve with model/state.npz truncated": (
        lambda r, p: truncate(r.joinpath(*STATE)),
        ["serve", "{run}"],
        "state.npz",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_spoilt_run_is_refused(case: str, run_dir: Path, pristine: dict[str, Path]) -> None:
    spoil, command, names = CASES[case]
    spoil(run_dir, pristine)
    places = {"run": run_dir, "other": pristine["other"], "config": pristine["config"]}
    refused(*(part.format(**places) for part in command), names=names)


def test_checkpoint_that_runs_code_is_not_run(run_dir: Path, tmp_path: Path) -> None:
    """A ``last.pt`` crafted to run a command when unpickled is refused unread
    (``torch.load(weights_only=True)``)."""
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return os.system, (f"touch {marker}",)

    (run_dir / "checkpoints" / "last.pt").write_bytes(pickle.dumps({"model": Payload()}))
    refused("train", "--resume", run_dir, names="last.pt")
    assert not marker.exists()


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/fase-hostile-escaped", ".."])
def test_scenario_name_stays_inside_the_run(run_dir: Path, tmp_path: Path, name: str) -> None:
    """``fase simulate --name`` is a folder name under ``simulation/``, never a path."""
    before = set(tmp_path.rglob("*"))
    refused("simulate", run_dir, "--name", name, "--cycles", "1", "--period", "1d", names="--name")
    assert set(tmp_path.rglob("*")) == before
    assert not Path("/tmp/fase-hostile-escaped").exists()


def test_failed_train_leaves_no_run_the_others_accept(
    pristine: dict[str, Path], tmp_path: Path
) -> None:
    """``fase train --out D`` refused for its options leaves no D that a later command
    takes for a run."""
    out = tmp_path / "new"
    refused(
        "train", "--config", pristine["config"], "--model", "nope", "--out", out, names="--model"
    )
    for command in (["report"], ["evaluate"], ["simulate"], ["train", "--resume"]):
        code, output = invoke(*command, out)
        assert code == 2, output
