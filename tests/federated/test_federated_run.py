"""``fase federated`` end to end on a tiny synthetic city: 4 clients, 2 rounds, Flower's
simulation runtime, the centralised comparison, FedProx(μ = 0) = FedAvg, and (opt-in:
``FASE_TEST_RAY=1``) the Ray backend's numbers = the in-process backend's."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import typer
import yaml
from scipy import stats
from tests.helpers.city import City, write_city
from typer.testing import CliRunner

import fase.federated.flower  # noqa: F401  # Flower's log handler binds to pytest's stream
from fase.cli import reports_errors
from fase.cli.federated import federated_command
from fase.config.training import TrainingConfig
from fase.forecasters.data import ForecastData
from fase.forecasters.dnn import STUDY_HIDDEN, STUDY_LAYERS
from fase.forecasters.registry import ForecasterSettings, create
from fase.io import read_npz

runner = CliRunner()
app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
app.command()(reports_errors(federated_command))  # the only command: invoked by its options
SMOKE = ("--clients", "4", "--rounds", "2", "--local-epochs", "2", "--seed", "5")


def invoke(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in output
    return result.exit_code, output


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> City:
    """Two weeks of seeded incidents over the 3×3 grid; windows of 16 bins, batches of 4."""
    rng = np.random.default_rng(2)
    times = pd.Timestamp("2017-03-01") + pd.to_timedelta(rng.integers(0, 14 * 24 * 60, 900), "min")
    frame = pd.DataFrame(
        {
            "time": times.strftime("%Y-%m-%d %H:%M:%S"),
            "node": rng.choice(9, 900, p=np.arange(1, 10) / 45) + 1,
        }
    )
    city = write_city(tmp_path_factory.mktemp("city"), frame, "2017-03-01", "2017-03-15")
    training = {"window": 16, "stride": 16, "batch_size": 4, "threads": 1}
    config = yaml.safe_load(city.config.read_text()) | {"training": training}
    city.config.write_text(yaml.safe_dump(config))
    return city


def run(city: City, out: Path, *args: str) -> Path:
    started = time.perf_counter()
    code, output = invoke("--config", city.config, *SMOKE, *args, "--out", out)
    print(f"fase federated {' '.join(args)}: {time.perf_counter() - started:.1f} s")
    assert code == 0, output
    assert "Weights only" in output and "summary.md" in output
    return out


def test_smoke_run_fedprox_with_mu_zero_reproduces_fedavg(city: City) -> None:
    """One test (two simulations), so that pytest-xdist never runs them twice."""
    fedavg = run(city, city.root / "fedavg")
    check_outputs_and_falling_loss(fedavg)
    check_pooled_errors_and_what_was_shared(fedavg)
    check_client_errors_against_an_independent_poisson_score(fedavg)

    fedprox = run(city, city.root / "fedprox0", "--strategy", "fedprox", "--mu", "0")
    assert json.loads((fedprox / "summary.json").read_text())["strategy"] == "fedprox"
    pd.testing.assert_frame_equal(
        pd.read_csv(fedprox / "rounds.csv"), pd.read_csv(fedavg / "rounds.csv")
    )
    first, second = (
        read_npz(fedavg / "global_weights.npz"),
        read_npz(fedprox / "global_weights.npz"),
    )
    assert first.keys() == second.keys()
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])


def check_outputs_and_falling_loss(out: Path) -> None:
    for name in ("config.yaml", "run_info.json", "partition.csv", "global_weights.npz"):
        assert (out / name).is_file(), name
    rounds = pd.read_csv(out / "rounds.csv")
    assert rounds["round"].tolist() == [0, 1, 2]
    assert np.isnan(rounds.loc[0, "train_loss"]) and rounds["train_loss"][1:].notna().all()
    assert rounds.loc[2, "val_loss"] < rounds.loc[0, "val_loss"]
    assert [c for c in rounds.columns if c.startswith("val_loss_client_")] == [
        f"val_loss_client_{k}" for k in range(4)
    ]
    partition = pd.read_csv(out / "partition.csv", dtype={"area": str})
    assert sorted(partition["area"]) == [str(k) for k in range(1, 10)]
    assert sorted(partition["client"].unique()) == [0, 1, 2, 3]
    log = pd.read_csv(out / "centralised" / "training_log.csv")
    assert log["epoch"].tolist() == [1, 2, 3, 4]  # R·E epochs, no early stop
    info = json.loads((out / "run_info.json").read_text())
    assert info["commands"][-1]["command"] == "federated" and info["seed"] == 5


def check_pooled_errors_and_what_was_shared(out: Path) -> None:
    clients = pd.read_csv(out / "clients.csv", dtype={"client": str})
    assert clients["client"].tolist() == ["0", "1", "2", "3", "all"]
    per_client, pooled = clients.iloc[:4], clients.iloc[4]
    assert per_client["areas"].sum() == pooled["areas"] == 9
    for kind in ("federated", "centralised"):
        for metric in ("nll", "mae"):
            column = f"{kind}_{metric}"
            weighted = (per_client[column] * per_client["areas"]).sum() / 9
            assert pooled[column] == pytest.approx(weighted, rel=1e-9)
    for metric in ("nll", "mae"):
        gap = clients[f"federated_{metric}"] - clients[f"centralised_{metric}"]
        np.testing.assert_allclose(clients[f"gap_{metric}"], gap, rtol=0, atol=1e-12)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["gap"]["nll"] == pytest.approx(pooled["gap_nll"], rel=1e-12)
    features = ForecastData.from_run(out).num_features
    parameters = features * STUDY_HIDDEN + STUDY_HIDDEN  # the DNN's weights: all that is shared
    parameters += (STUDY_LAYERS - 1) * (STUDY_HIDDEN**2 + STUDY_HIDDEN) + STUDY_HIDDEN + 1
    assert summary["shared"]["parameters"] == parameters
    assert summary["shared"]["weights_messages"] == 4 * (3 * 2 + 2)
    assert summary["shared"]["bytes_per_weights_message"] == 4 * parameters


def check_client_errors_against_an_independent_poisson_score(out: Path) -> None:
    data = ForecastData.from_run(out)
    model = create("dnn", ForecasterSettings(TrainingConfig()))
    model.adopt(model.build_module(data))
    weights = read_npz(out / "global_weights.npz")
    model.module.load_state_dict({k: torch.as_tensor(v) for k, v in weights.items()})
    start, end = data.bounds("test")
    mean = model.predict(data, start, end).mean.numpy()  # (T, N); the DNN is per area
    nll = -stats.poisson.logpmf(data.y[:, start:end].T, mean)
    partition = pd.read_csv(out / "partition.csv")
    clients = pd.read_csv(out / "clients.csv", dtype={"client": str}).set_index("client")
    for k in range(4):
        areas = partition.index[partition["client"] == k]
        assert clients.loc[str(k), "federated_nll"] == pytest.approx(nll[:, areas].mean(), 1e-5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--model", "historical_average"), "not a neural model"),
        (("--model", "nope"), "unknown model"),
        (("--mu", "0.1"), "fedprox only"),
        (("--strategy", "fedsgd"), "unknown strategy"),
    ],
)
def test_bad_options_stop_with_one_clear_error(city: City, tmp_path: Path, args, message) -> None:
    code, output = invoke("--config", city.config, *args, "--out", tmp_path)
    assert code == 2 and message in output


def test_without_flower_the_command_says_how_to_install_it(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr("fase.cli.federated.flower_installed", lambda: False)
    code, output = invoke("--out", tmp_path / "run")
    assert code == 2
    assert "Flower (flwr) is not installed" in output
    assert "pip install -e '.[federated]'" in output
    assert not (tmp_path / "run").exists()


def test_per_area_models_and_too_many_clients_are_refused_on_the_data(city, tmp_path) -> None:
    code, output = invoke("--config", city.config, "--model", "fase_default", "--out", tmp_path)
    assert code == 2 and "depends on the areas" in output
    code, output = invoke("--config", city.config, "--clients", "10", "--out", tmp_path)
    assert code == 2 and "--clients" in output


@pytest.mark.skipif(
    not os.environ.get("FASE_TEST_RAY"),
    reason="starts a local Ray instance (about ten processes); set FASE_TEST_RAY=1",
)
def test_the_ray_backend_gives_the_in_process_numbers(city: City) -> None:
    inprocess = run(city, city.root / "inprocess")
    ray = run(city, city.root / "ray", "--backend", "ray")
    pd.testing.assert_frame_equal(
        pd.read_csv(ray / "rounds.csv"), pd.read_csv(inprocess / "rounds.csv")
    )
    first, second = read_npz(inprocess / "global_weights.npz"), read_npz(ray / "global_weights.npz")
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])
