"""Model parallelism (SplitFASE): the split model computes exactly what the single-device
model computes — outputs, gradients, training with the engine, forecasts — shares its
parameters and checkpoints, and rejects devices the machine does not have."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from tests.helpers.city import TINY_TRAINING, write_city
from tests.training.helpers import (
    SPLIT,
    synthetic_series,
    tiny_model,
    tiny_training,
    tiny_windows,
)

from fase.config import load_config
from fase.config.model import ModelConfig
from fase.errors import FaseInputError
from fase.io import read_npz
from fase.models import forecast_warmup
from fase.models.fase import FASEModel
from fase.models.split import SplitFASE, placement_device, split_by_placement
from fase.phases import train as train_phase
from fase.phases.train import train_run
from fase.training import CountSeries, fit, forecast_span, load_checkpoint
from fase.training.distributed import Sharding

CPU = torch.device("cpu")
GEN = torch.Generator().manual_seed(11)
VARIANTS = [
    {},
    {"hawkes": False},
    {"hawkes_history": "restart", "hawkes_self_excitation": False},
    {"distribution": "nb", "adaptive_adjacency": True},
    {"distribution": "poisson", "diffusion": "bidirectional", "diffusion_hops": 2},
]


def inputs(model: FASEModel, batch: int = 3, steps: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """x (B, 5, W, 13) standard normal and y_hist (B, 5, P + W) Poisson(0.6) counts."""
    x = torch.randn(batch, 5, steps, 13, generator=GEN)
    y_hist = torch.poisson(torch.full((batch, 5, model.history_steps + steps), 0.6), generator=GEN)
    return x, y_hist


def assert_equal_tensors(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert list(a) == list(b)
    for name in a:
        assert torch.equal(a[name], b[name]), name


def fit_tiny(model: torch.nn.Module, out: Path, resume: bool = False, **training: object):
    config = tiny_training(**training)
    series = CountSeries(*synthetic_series(), model.history_steps)
    return fit(
        model,
        series,
        tiny_windows(config),
        config,
        seed=3,
        out_dir=out,
        resume=resume,
        progress=False,
    )


def test_the_split_model_adopts_the_models_parameters_and_state_dict_keys() -> None:
    model = tiny_model(0)
    keys = list(model.state_dict())
    split = SplitFASE(model, "cpu", "cpu")
    assert list(split.state_dict()) == keys  # checkpoints load either way
    assert [id(p) for p in split.parameters()] == [id(p) for p in model.parameters()]
    assert sum(p.numel() for p in split.parameters()) == sum(p.numel() for p in model.parameters())
    assert split.history_steps == model.history_steps == 24
    assert (split.encoder_device, split.head_device) == (CPU, CPU)


@pytest.mark.parametrize("fields", VARIANTS)
def test_outputs_equal_the_single_device_models_exactly(fields: dict[str, object]) -> None:
    single, split = tiny_model(0, **fields), SplitFASE(tiny_model(0, **fields), "cpu", "cpu")
    x, y_hist = inputs(single)
    with torch.no_grad():
        assert_equal_tensors(split.eval()(x, y_hist), single.eval()(x, y_hist))
        torch.manual_seed(5)  # dropout on: the same draws in the same order
        expected = single.train()(x, y_hist)
        torch.manual_seed(5)
        got = split.train()(x, y_hist)
    assert_equal_tensors(got, expected)
    assert not torch.equal(got["mu"], single.eval()(x, y_hist)["mu"])  # dropout did act
    target = y_hist[..., single.history_steps :]
    nll = -split.distribution(got).log_prob(target).mean()
    assert torch.equal(nll, -single.distribution(expected).log_prob(target).mean())


def test_a_changed_weight_changes_the_split_output() -> None:
    """The equality above is not vacuous: the split model really runs its own weights."""
    split, single = SplitFASE(tiny_model(0), "cpu", "cpu"), tiny_model(0)
    with torch.no_grad():
        split.hawkes_proj.weight.add_(0.1)
        x, y_hist = inputs(single)
        assert not torch.equal(split.eval()(x, y_hist)["mu"], single.eval()(x, y_hist)["mu"])


def test_gradients_after_one_backward_equal_the_single_device_models() -> None:
    single, split = tiny_model(0), SplitFASE(tiny_model(0), "cpu", "cpu")
    x, y_hist = inputs(single)
    target = y_hist[..., single.history_steps :]
    for module in (single, split):
        torch.manual_seed(9)
        params = module.train()(x, y_hist)
        (-module.distribution(params).log_prob(target).mean()).backward()
    for (name, p), (_, q) in zip(single.named_parameters(), split.named_parameters(), strict=True):
        assert (p.grad is None) == (q.grad is None), name  # the last residual gets none
        if p.grad is not None:
            assert torch.equal(p.grad, q.grad), name
    assert split.hawkes.beta_raw.grad != 0 and split.stgnn.input_proj.weight.grad.abs().sum() > 0


def test_training_with_the_engine_gives_identical_logs_weights_and_forecasts(
    tmp_path: Path,
) -> None:
    single = tiny_model(0)  # seeds the global RNG: dropout draws the same in both fits
    result_single = fit_tiny(single, tmp_path / "single", epochs=3)
    split_from = tiny_model(0)
    split = SplitFASE(split_from, "cpu", "cpu")
    result_split = fit_tiny(split, tmp_path / "split", epochs=3)
    assert result_split.state.log[0]["train_loss"] != result_split.state.log[2]["train_loss"]
    for a, b in zip(result_single.state.log, result_split.state.log, strict=True):
        assert (a["train_loss"], a["val_loss"], a["lr"]) == (
            b["train_loss"],
            b["val_loss"],
            b["lr"],
        )
    assert result_single.test_loss == result_split.test_loss
    assert_equal_tensors(split.state_dict(), single.state_dict())
    assert_equal_tensors(split_from.state_dict(), single.state_dict())  # shared, not copied
    assert not torch.equal(single.head.shared[0].weight, tiny_model(0).head.shared[0].weight)
    series = CountSeries(*synthetic_series(), single.history_steps)
    warmup = forecast_warmup(single)
    start, end = SPLIT["test"]
    a = forecast_span(single, series, start, end, warmup=warmup, chunk_steps=20)
    b = forecast_span(split, series, start, end, warmup=warmup, chunk_steps=20)
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    np.testing.assert_array_equal(a.expected, b.expected)


def test_checkpoints_load_either_way_and_a_resume_may_switch_placement(tmp_path: Path) -> None:
    uninterrupted = tiny_model(0)
    fit_tiny(uninterrupted, tmp_path / "whole", epochs=3)
    fit_tiny(tiny_model(0), tmp_path / "switched", epochs=2)  # single device for 2 epochs
    resumed = SplitFASE(tiny_model(0), "cpu", "cpu")
    fit_tiny(resumed, tmp_path / "switched", resume=True, epochs=3)  # then split
    assert_equal_tensors(resumed.state_dict(), uninterrupted.state_dict())
    best = {
        run: load_checkpoint(tmp_path / run / "checkpoints" / "best.pt")["model"]
        for run in ("whole", "switched")
    }
    assert_equal_tensors(best["switched"], best["whole"])
    single, split = tiny_model(1), SplitFASE(tiny_model(2), "cpu", "cpu")
    single.load_state_dict(best["switched"])  # written by the split model: loads whole
    split.load_state_dict(best["whole"])  # written by the whole model: loads split
    x, y_hist = inputs(single)
    with torch.no_grad():
        assert_equal_tensors(split.eval()(x, y_hist), single.eval()(x, y_hist))


def test_to_converts_the_dtype_and_keeps_the_placement() -> None:
    split, single = SplitFASE(tiny_model(0), "cpu", "cpu"), tiny_model(0)
    assert split.to("cpu") is split and split.to(CPU, non_blocking=True) is split
    split.to(torch.float64)
    assert {p.dtype for p in split.parameters()} == {torch.float64}
    x, y_hist = inputs(single)
    with torch.no_grad():
        got = split.eval()(x.double(), y_hist)
        expected = single.double().eval()(x.double(), y_hist)
    assert_equal_tensors(got, expected)
    assert got["mu"].dtype == torch.float64


@pytest.mark.parametrize(
    "name",
    ["gpu", "cuda:x", "cuda:-1", "meta", "mps", "", "cpu cpu", "cuda:99"],
)
def test_bad_device_names_are_input_errors_naming_the_field(name: str) -> None:
    with pytest.raises(FaseInputError) as caught:
        SplitFASE(tiny_model(0), "cpu", name)
    assert caught.value.source == "model.placement.head" and caught.value.hint


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without a GPU")
def test_a_gpu_on_a_machine_without_one_is_an_input_error() -> None:
    with pytest.raises(FaseInputError, match="sees no GPU"):
        placement_device("cuda", "model.placement.encoder")


def test_the_config_option_is_checked_for_form_and_builds_the_split() -> None:
    placed = ModelConfig(placement={"encoder": "cuda:1", "head": "cpu"})  # form only
    assert (placed.placement.encoder, placed.placement.head) == ("cuda:1", "cpu")
    with pytest.raises(FaseInputError, match=r"model\.placement\.encoder"):
        load_config(overrides={"model": {"placement": {"encoder": "gpu:0", "head": "cpu"}}})
    with pytest.raises(FaseInputError, match=r"model\.placement"):
        load_config(overrides={"model": {"placement": {"encoder": "cpu"}}})
    cfg = load_config(overrides={"model": {"placement": {"encoder": "cpu", "head": "cpu"}}})
    model = tiny_model(0)
    assert split_by_placement(model, None) is model
    assert isinstance(split_by_placement(model, cfg.model.placement), SplitFASE)


@pytest.fixture(scope="module")
def city_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten days of seeded random incidents on the 3×3 grid city; tiny model and training."""
    rng = np.random.default_rng(2)
    times = pd.Timestamp("2017-03-01") + pd.to_timedelta(rng.integers(0, 10 * 24 * 60, 400), "min")
    frame = pd.DataFrame(
        {"time": times.strftime("%Y-%m-%d %H:%M:%S"), "node": rng.integers(1, 10, 400)}
    )
    city = write_city(tmp_path_factory.mktemp("city"), frame, "2017-03-01", "2017-03-11")
    return city.config


def test_fase_train_with_a_placement_writes_the_same_run(
    city_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole_cfg = load_config(config_path=city_config, overrides=TINY_TRAINING)
    placed = {"model": TINY_TRAINING["model"] | {"placement": {"encoder": "cpu", "head": "cpu"}}}
    split_cfg = load_config(config_path=city_config, overrides=TINY_TRAINING | placed)
    whole = train_run(whole_cfg, tmp_path / "whole", progress=False)
    for part in ("data", "graph"):  # Phases 1–2 once
        shutil.copytree(tmp_path / "whole" / part, tmp_path / "split" / part)
    split = train_run(split_cfg, tmp_path / "split", progress=False)
    assert isinstance(split.forecaster.module, FASEModel)
    assert isinstance(split.forecaster.network, SplitFASE)
    assert {p.device for p in split.forecaster.module.parameters()} == {CPU}
    untimed = [
        [(r["train_loss"], r["val_loss"]) for r in run.report.training.state.log]
        for run in (whole, split)
    ]
    assert untimed[0] == untimed[1] and len(untimed[0]) == 2
    for artefact in ("forecast_path", "model/state.npz"):
        whole_file = getattr(whole, artefact, tmp_path / "whole" / artefact)
        split_file = getattr(split, artefact, tmp_path / "split" / artefact)
        arrays_whole, arrays_split = read_npz(whole_file), read_npz(split_file)
        assert list(arrays_whole) == list(arrays_split)
        for name, values in arrays_whole.items():
            np.testing.assert_array_equal(values, arrays_split[name], err_msg=name)
    saved = yaml.safe_load((tmp_path / "split" / "config.yaml").read_text())
    assert saved["model"]["placement"] == {"encoder": "cpu", "head": "cpu"}
    monkeypatch.setattr(train_phase, "current_sharding", lambda: Sharding(0, 2))
    with pytest.raises(FaseInputError, match="data-parallel"):
        train_run(split_cfg, tmp_path / "split", progress=False)


def _two_runs_agree_on_gpu(single: FASEModel, split: SplitFASE, device: torch.device) -> None:
    """Forward and one backward of ``single`` (on ``device``) and ``split`` agree to float
    rounding; the split's outputs come back on the input's device."""
    x, y_hist = inputs(single)
    target = y_hist[..., single.history_steps :]
    outputs = []
    for module, where in ((single, device), (split, CPU)):
        params = module.eval()(x.to(where), y_hist.to(where))
        assert {v.device for v in params.values()} == {where}
        (-module.distribution(params).log_prob(target.to(where)).mean()).backward()
        outputs.append({k: v.detach().cpu() for k, v in params.items()})
    for name in outputs[0]:
        torch.testing.assert_close(outputs[1][name], outputs[0][name], rtol=1e-5, atol=1e-6)
    for (name, p), (_, q) in zip(single.named_parameters(), split.named_parameters(), strict=True):
        if p.grad is not None:
            torch.testing.assert_close(q.grad.cpu(), p.grad.cpu(), rtol=1e-4, atol=1e-6, msg=name)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cpu_encoder_and_gpu_head_agree_with_one_gpu() -> None:
    gpu = torch.device("cuda", 0)
    split = SplitFASE(tiny_model(0), "cpu", "cuda:0")
    assert split.stgnn.input_proj.weight.device == CPU and split.head_device == gpu
    assert {p.device for p in split.head.parameters()} == {gpu}
    _two_runs_agree_on_gpu(tiny_model(0).to(gpu), split, gpu)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two GPUs")
def test_two_gpus_agree_with_one() -> None:
    split = SplitFASE(tiny_model(0), "cuda:0", "cuda:1")
    assert {p.device.index for p in split.stgnn.parameters()} == {0}
    assert {p.device.index for p in split.hawkes.parameters()} == {1}
    _two_runs_agree_on_gpu(tiny_model(0).to("cuda:0"), split, torch.device("cuda", 0))
