"""Neural forecasters: any :class:`~fase.models.CountNetwork`, trained by the one
training engine (:func:`fase.training.fit`) and forecast with
:func:`fase.training.forecast_span`.

A neural model is a subclass that says how to build its network from the data
(:meth:`NeuralForecaster.build_module`) and how many past bins a forecast needs
(:meth:`NeuralForecaster.warmup`); training, early stopping, checkpoints, forecasting,
retraining inside the feedback simulator and persistence are shared.

What a network forecasts (``target``):

* ``total``: the count of every area-bin (what allocation, the simulator and the service use);
* ``types``: the K crime-type counts jointly (one output per type, :meth:`head` gives
  ``outputs`` = K), trained on the per-type counts; its predictive law of the total is
  the sum of the types' (:class:`~fase.models.distributions.SumOfIndependent`);
* ``levels``: the risk level 1–5 of the total (five logits, trained with cross-entropy;
  :class:`~fase.models.distributions.LevelCategorical`), with the thresholds of
  :class:`~fase.evaluation.levels.RiskLevels` fitted on the training counts.

Only ``total`` models deploy (``forecast``/``retrain``); the others are for ``fase compare``.

Randomness: :meth:`~NeuralForecaster.fit` builds and trains the network inside
:func:`fase.runtime.torch_seeded` with the fit's seed (weights and dropout), the
minibatch order from a generator seeded alike. Retraining (:meth:`~NeuralForecaster.retrain`)
shuffles with a generator seeded by the clone's seed (its stream continues across
calls) and draws dropout inside ``torch_seeded(seed · 1,000,003 + call)``. On a GPU a
retraining replays one captured step (:mod:`fase.training.captured`, ``request.capture``)
with the numbers of the eager step.
"""

from __future__ import annotations

import copy
import tempfile
import time
import warnings
from abc import abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
import torch
from torch import nn
from torch.func import stack_module_state

from fase.config.training import TrainingConfig
from fase.evaluation.levels import RiskLevels
from fase.forecasters.base import FitReport, Forecaster, ForecastRequest, TrainingRequest
from fase.forecasters.data import ForecastData
from fase.models.distributions import CountDistribution, SumOfIndependent
from fase.rundir import RunDir
from fase.runtime import torch_seeded
from fase.training.captured import CapturedStep, CaptureError, StepSettings, capture_supported
from fase.training.checkpoint import TrainingState, load_checkpoint
from fase.training.engine import fit, train_epochs
from fase.training.forecast import SpanForecast, forecast_copies, forecast_span
from fase.training.replicates import ReplicateJob, train_replicates
from fase.training.windows import CountSeries, split_windows

RETRAIN_SEED_STRIDE = 1_000_003
Target = Literal["total", "types", "levels"]


class NeuralForecaster(Forecaster):
    """A network trained with :class:`TrainingConfig` (``objective`` nll or mse).

    Attributes:
        module: the network (None until fitted or restored).
        network: what trains and forecasts: ``module`` itself, or ``module`` split across
            devices (:meth:`place`).
        best_weights: the best validation checkpoint's weights, the ones a deployment
            starts from (:meth:`state`); ``module`` holds the scored weights after
            :meth:`fit` (``training.test_checkpoint``).
    """

    def __init__(self, training: TrainingConfig, target: Target = "total") -> None:
        self.training = training
        self.target = target
        self.task = "levels" if target == "levels" else "counts"
        self.module: nn.Module | None = None
        self.network: nn.Module | None = None
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.device = torch.device("cpu")
        self._seed = 0
        self._calls = 0
        self._shuffle = torch.Generator().manual_seed(0)
        self._captured: CapturedStep | None = None  # retraining's captured step, if any
        self._capture_failed = False

    @abstractmethod
    def build_module(self, data: ForecastData) -> nn.Module:
        """A fresh :class:`~fase.models.CountNetwork` module for ``data``'s shapes."""

    @abstractmethod
    def warmup(self, module: nn.Module) -> int:
        """Bins of context before a forecast span that make it exact (receptive field − 1)."""

    def head(self, data: ForecastData) -> dict[str, Any]:
        """The output keywords of the network for ``data`` and :attr:`target`:
        ``outputs`` (K crime types, or 1) and ``level_thresholds`` (levels only)."""
        if self.target == "types":
            if data.y_types is None:
                raise ValueError(f"{self.name}: the data have no crime-type channels")
            return {"outputs": len(data.type_names), "level_thresholds": None}
        if self.target == "levels":
            start, end = data.bounds("train")
            thresholds = RiskLevels.fit(data.y[:, start:end]).thresholds
            return {"outputs": 1, "level_thresholds": [int(t) for t in thresholds]}
        return {"outputs": 1, "level_thresholds": None}

    def for_crime_types(self) -> Self:
        """This model forecasting every crime type jointly (a level classifier stays one)."""
        if self.target == "levels":
            return self
        twin = copy.copy(self)
        twin.target = "types"
        return twin

    def place(self, module: nn.Module) -> nn.Module:
        """The network that trains and forecasts ``module`` (default: ``module`` itself)."""
        return module

    def adopt(self, module: nn.Module) -> None:
        """Make ``module`` (built by :meth:`build_module`) this forecaster's network."""
        self.module, self.network = module, self.place(module)
        self._captured = None  # a captured step belongs to the network it was built for

    @property
    def num_parameters(self) -> int:
        if self.module is None:
            return 0
        return sum(p.numel() for p in self.module.parameters() if p.requires_grad)

    @property
    def history_steps(self) -> int:
        self.require_fitted(self.module is not None)
        return int(self.module.history_steps)

    @property
    def warmup_steps(self) -> int:
        self.require_fitted(self.module is not None)
        return self.warmup(self.module)

    def _series(self, data: ForecastData) -> CountSeries:
        targets = data.y_types if self.target == "types" else None
        return CountSeries(data.x, data.y.astype("float32"), self.history_steps, targets)

    def require_deployable(self) -> None:
        """Raise unless the network forecasts the total count (what deployments use)."""
        if self.target != "total":
            what = "crime types" if self.target == "types" else "risk levels"
            raise ValueError(f"{self.name} forecasts {what}, not the total count: not deployable")

    # -- fitting and scoring ----------------------------------------------------------
    def fit(
        self,
        data: ForecastData,
        *,
        seed: int,
        out_dir: Path | None = None,
        resume: bool = False,
        progress: bool | None = False,
        on_epoch_end: Callable[[TrainingState], None] | None = None,
    ) -> FitReport:
        """Build the network and train it with early stopping on the validation windows
        (:func:`fase.training.fit`); the module keeps the ``training.test_checkpoint``
        weights. Checkpoints and the log go to ``out_dir`` (None: a temporary folder)."""
        started = time.perf_counter()
        with torch_seeded(seed), tempfile.TemporaryDirectory(prefix="fase-fit-") as scratch:
            self.adopt(self.build_module(data))
            run = RunDir(out_dir if out_dir is not None else scratch)
            result = fit(
                self.network,
                self._series(data),
                split_windows(data.split, self.training),
                self.training,
                seed=seed,
                out_dir=run.root,
                resume=resume,
                progress=progress,
                on_epoch_end=on_epoch_end,
            )
            if run.best_checkpoint.is_file():  # a data-parallel rank on another machine: no
                self.best_weights = load_checkpoint(run.best_checkpoint)["model"]
        return FitReport(
            seconds=time.perf_counter() - started,
            epochs=result.state.epoch,
            best_val_loss=result.state.best_val_loss,
            notes={"scored_epoch": result.scored_epoch},
            training=result,
        )

    def predict(self, data: ForecastData, start: int, end: int) -> CountDistribution:
        forecast = self._forecast_data(data, start, end)
        params = {k: torch.as_tensor(v, dtype=torch.float64) for k, v in forecast.params.items()}
        law = self.module.distribution(params)
        return SumOfIndependent(law) if self.target == "types" else law

    def forecast_split(self, data: ForecastData, split: str) -> SpanForecast:
        """The network's float32 forecast of ``split`` (one pass per 2,048 bins)."""
        return self._forecast_data(data, *data.bounds(split))

    def _forecast_data(self, data: ForecastData, start: int, end: int) -> SpanForecast:
        self.require_fitted(self.network is not None)
        return forecast_span(self.network, self._series(data), start, end, warmup=self.warmup_steps)

    # -- deployment -------------------------------------------------------------------
    def forecast(self, request: ForecastRequest) -> SpanForecast:
        """One forward pass over the request, eval mode, no gradients, on this copy's
        device (:meth:`clone`); the forecast comes back in host memory."""
        self.require_fitted(self.module is not None)
        self.require_deployable()
        span = forecast_span(
            self.module,
            CountSeries(request.x, request.counts, self.history_steps).to(self.device),
            request.start - request.offset,
            request.stop - request.offset,
            warmup=request.warmup,
            chunk_steps=request.stop - request.start,
        )
        return replace(span, start=request.start, end=request.stop)

    def retrain(self, request: TrainingRequest) -> list[float]:
        """Fine-tune on the request's windows: a fresh Adam, shuffled minibatches, dropout
        on, clipping; the loss of every epoch (module docstring for the randomness)."""
        self.require_fitted(self.module is not None)
        self.require_deployable()
        if request.epochs == 0 or request.starts.size == 0:
            return []
        series = CountSeries(request.x, request.counts, self.history_steps).to(self.device)
        starts = np.asarray(request.starts) - request.offset
        self._calls += 1
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch_seeded(self._retrain_seed(), devices):
            captured = self._captured_step(request, series, starts)
            if captured is not None:
                return captured.train_epochs(
                    series,
                    starts,
                    epochs=request.epochs,
                    generator=self._shuffle,
                    reduction=request.reduction,  # type: ignore[arg-type]
                )
            optimizer = torch.optim.Adam(
                self.module.parameters(),
                lr=request.lr,
                weight_decay=request.weight_decay,
                fused=self.device.type in ("cpu", "cuda"),
            )
            return train_epochs(
                self.module,
                series,
                starts,
                optimizer,
                epochs=request.epochs,
                window=request.window,
                batch_size=request.batch_size,
                generator=self._shuffle,
                grad_clip=request.grad_clip,
                reduction=request.reduction,  # type: ignore[arg-type]
                objective=self.objective,
            )

    def captures(self, request: TrainingRequest) -> bool:
        """Whether :meth:`retrain` replays a captured step for ``request``: capture on, a
        device with graphs, a step that captured before (or has not been tried), and
        minibatches of one size (the batch size divides the window count)."""
        return (
            request.capture
            and not self._capture_failed
            and capture_supported(self.device)
            and len(request.starts) % request.batch_size == 0
        )

    def _captured_step(
        self, request: TrainingRequest, series: CountSeries, starts: np.ndarray
    ) -> CapturedStep | None:
        """The captured step for this retraining (:mod:`fase.training.captured`), built on
        first use and kept while the network, series layout and settings stay the same;
        None where the retraining runs eagerly: ``request.capture`` off, a device without
        graphs, a batch size that leaves a shorter last minibatch, or a network whose
        step failed to capture before (a warning says so, once)."""
        if not self.captures(request):
            return None
        settings = StepSettings(
            window=request.window,
            batch_size=request.batch_size,
            steps=len(starts) // request.batch_size,
            lr=request.lr,
            weight_decay=request.weight_decay,
            grad_clip=request.grad_clip,
            objective=self.objective,
        )
        if self._captured is None or not self._captured.fits(self.module, series, settings):
            self._captured = None  # release the previous graph before capturing anew
            try:
                self._captured = CapturedStep(self.module, series, settings)
            except CaptureError as exc:
                self._capture_failed = True
                warnings.warn(
                    f"{self.name}: retraining eagerly ({exc})", RuntimeWarning, stacklevel=3
                )
        return self._captured

    def _retrain_seed(self) -> int:
        """The seed of the global RNG (dropout) for the current retraining call."""
        return self._seed * RETRAIN_SEED_STRIDE + self._calls

    def replicate_job(self, request: TrainingRequest) -> ReplicateJob:
        """This copy's part of a batched retraining (:func:`retrain_together`): its
        module, windows, shuffle generator and dropout seed, as :meth:`retrain` would use
        them (counts this call as one of its retrainings)."""
        self.require_fitted(self.module is not None)
        self.require_deployable()
        self._calls += 1
        return ReplicateJob(
            self.module,
            CountSeries(request.x, request.counts, self.history_steps).to(self.device),
            np.asarray(request.starts) - request.offset,
            self._shuffle,
            self._retrain_seed(),
        )

    def clone(self, seed: int, device: str | torch.device | None = None) -> Self:
        """A copy of the current weights (on ``device``) with its own retraining seed."""
        self.require_fitted(self.module is not None)
        twin = copy.copy(self)
        twin.device = self.device if device is None else torch.device(device)
        twin.module = copy.deepcopy(self.module).to(twin.device)
        twin.network = twin.module
        twin._seed, twin._calls = seed, 0
        twin._shuffle = torch.Generator().manual_seed(seed)
        twin._captured, twin._capture_failed = None, False
        return twin

    # -- persistence ------------------------------------------------------------------
    def state(self) -> dict[str, np.ndarray]:
        """The best checkpoint's weights (:attr:`best_weights`) as arrays."""
        self.require_fitted(self.best_weights is not None)
        return {k: v.detach().cpu().numpy() for k, v in self.best_weights.items()}

    def restore(self, data: ForecastData, state: dict[str, np.ndarray]) -> None:
        """Build the network for ``data`` and load ``state``'s weights.

        Raises:
            ValueError: the weights do not fit the network this model builds for ``data``.
        """
        with torch_seeded(0):  # the weights are replaced: keep the caller's RNG untouched
            module = self.build_module(data)
        weights = {k: torch.from_numpy(np.array(v)) for k, v in state.items()}
        try:
            module.load_state_dict(weights)
        except RuntimeError as exc:
            raise ValueError(f"the weights do not fit {self.name}'s network ({exc})") from exc
        self.adopt(module)
        self.best_weights = weights


def retrain_together(
    forecasters: Sequence[Forecaster], requests: Sequence[TrainingRequest]
) -> list[list[float]]:
    """``forecasters[k].retrain(requests[k])`` for every k, as one batched retraining
    (:func:`fase.training.replicates.train_replicates`) when that is possible: two or
    more networks of one class with the same parameter shapes on one device, requests
    with the same settings and window count, some epochs to run. Otherwise each copy
    retrains alone — also where every copy would replay its own captured step
    (:meth:`NeuralForecaster.captures`), several times faster than the batched model
    (measured on an H200: about 1.0 ms per copy-step captured against 8.7 ms batched,
    docs/simulation.md); where the windows leave a shorter last minibatch, which no
    captured step replays, the copies retrain as one batched model instead.
    Returns each copy's epoch losses.
    """
    if not _batchable(forecasters, requests):
        return [f.retrain(r) for f, r in zip(forecasters, requests, strict=True)]
    first = requests[0]
    networks = [f for f in forecasters if isinstance(f, NeuralForecaster)]
    jobs = [f.replicate_job(r) for f, r in zip(networks, requests, strict=True)]
    return train_replicates(
        jobs,
        epochs=first.epochs,
        window=first.window,
        batch_size=first.batch_size,
        lr=first.lr,
        weight_decay=first.weight_decay,
        grad_clip=first.grad_clip,
        reduction=first.reduction,  # type: ignore[arg-type]
        objective=networks[0].objective,
    )


class StackedForecasts:
    """The forecasts of many forecasters answered together while their weights stay
    fixed (the deployment part of a simulation cycle; the retraining comes after).

    Copies of one network (one class, parameter shapes and device) have their weights
    stacked once (``torch.func.stack_module_state``); the requests of a round whose
    copies share a network and whose arrays share a geometry are forecast as one
    vectorised forward pass (:func:`fase.training.forecast.forecast_copies`: forecast k
    equals copy k's own up to float rounding); any other request is forecast alone. The
    simulator asks this of every lane of a lockstep run at each pass
    (:mod:`fase.simulation.lockstep`): on a GPU one pass of many copies costs the kernel
    launches of one.
    """

    def __init__(self, forecasters: Sequence[Forecaster]) -> None:
        self.forecasters = list(forecasters)
        self._network = [_network_key(f) for f in self.forecasters]
        self._stacks: dict[tuple, tuple[list[int], dict[str, torch.Tensor]]] = {}
        for key in {k for k in self._network if k is not None}:
            lanes = [j for j, k in enumerate(self._network) if k == key]
            if len(lanes) > 1:
                modules = [self._network_of(j).eval() for j in lanes]
                with torch.no_grad():
                    params, buffers = stack_module_state(modules)
                self._stacks[key] = (lanes, params | buffers)

    def _network_of(self, lane: int) -> nn.Module:
        forecaster = self.forecasters[lane]
        assert isinstance(forecaster, NeuralForecaster) and forecaster.module is not None
        return forecaster.module

    def forecast(
        self, lanes: Sequence[int], requests: Sequence[ForecastRequest]
    ) -> list[SpanForecast]:
        """``forecasters[lanes[i]].forecast(requests[i])`` for every i (class docstring)."""
        rounds: dict[tuple, list[int]] = {}
        for i, (lane, request) in enumerate(zip(lanes, requests, strict=True)):
            key = self._network[lane]
            group = (key, _geometry(request)) if key in self._stacks else (None, i)
            rounds.setdefault(group, []).append(i)
        answers: dict[int, SpanForecast] = {}
        for (key, _), members in rounds.items():
            if len(members) == 1:
                i = members[0]
                answers[i] = self.forecasters[lanes[i]].forecast(requests[i])
            else:
                asked = [(lanes[i], requests[i]) for i in members]
                answers.update(zip(members, self._forecast_copies(key, asked), strict=True))
        return [answers[i] for i in range(len(lanes))]

    def _forecast_copies(
        self, key: tuple, asked: list[tuple[int, ForecastRequest]]
    ) -> list[SpanForecast]:
        """One vectorised pass over the asked lanes, copies of the network ``key``."""
        stacked_lanes, weights = self._stacks[key]
        device, history = key[1], int(self._network_of(asked[0][0]).history_steps)
        rows = [stacked_lanes.index(lane) for lane, _ in asked]
        if rows != list(range(len(stacked_lanes))):
            index = torch.as_tensor(rows, device=device)
            weights = {name: value.index_select(0, index) for name, value in weights.items()}
        first = asked[0][1]  # every request of the round has its geometry
        begin = max(0, first.start - first.offset - first.warmup)  # the pass's first column
        x, y_hist = (
            torch.from_numpy(part).to(device)
            for part in _samples([request for _, request in asked], begin, history)
        )
        skip = first.start - first.offset - begin  # warm-up outputs
        template = self._network_of(asked[0][0])
        arrays, expected, law = forecast_copies(template, weights, x, y_hist, skip)
        return [
            SpanForecast(
                request.start,
                request.stop,
                {name: values[j] for name, values in arrays.items()},
                expected[j],
                law.name,
                law.eps,
            )
            for j, (_, request) in enumerate(asked)
        ]


def _network_key(forecaster: Forecaster) -> tuple | None:
    """What copies share to stack their weights (None: a forecaster that forecasts alone)."""
    if not isinstance(forecaster, NeuralForecaster) or forecaster.module is None:
        return None
    forecaster.require_deployable()
    return (type(forecaster), forecaster.device, _shapes(forecaster.module))


def _geometry(request: ForecastRequest) -> tuple:
    """What requests share to be forecast in one pass: their arrays' shapes and span."""
    return (
        request.x.shape,
        request.counts.shape,
        request.start - request.offset,
        request.stop - request.offset,
        request.warmup,
    )


def _samples(
    requests: Sequence[ForecastRequest], begin: int, history: int
) -> tuple[np.ndarray, np.ndarray]:
    """The samples :meth:`NeuralForecaster.forecast` gives its network, one per request
    of one geometry, float32, written once into the batch: x of the requests' columns
    [begin, stop) (K, N, W, F) and the counts of [begin − P, stop) (K, N, P + W), zero
    before column 0 (as :class:`CountSeries` pads)."""
    first = requests[0]
    lo, hi = begin, first.stop - first.offset
    nodes, features = first.x.shape[0], first.x.shape[2]
    x = np.empty((len(requests), nodes, hi - lo, features), np.float32)
    counts = np.zeros((len(requests), nodes, history + hi - lo), np.float32)
    known = max(0, lo - history)
    for k, request in enumerate(requests):
        x[k] = request.x[:, lo:hi]
        counts[k, :, counts.shape[2] - (hi - known) :] = request.counts[:, known:hi]
    return x, counts


def _batchable(forecasters: Sequence[Forecaster], requests: Sequence[TrainingRequest]) -> bool:
    """Whether :func:`retrain_together` can retrain these copies as one batch."""
    if len(forecasters) < 2 or not all(isinstance(f, NeuralForecaster) for f in forecasters):
        return False
    if all(
        isinstance(f, NeuralForecaster) and f.captures(r)
        for f, r in zip(forecasters, requests, strict=True)
    ):
        return False  # captured steps, one copy after another, beat one batched model
    shapes = [
        (type(f), f.device, f.objective, f.history_steps, _shapes(f.module))
        for f in forecasters
        if isinstance(f, NeuralForecaster) and f.module is not None
    ]
    settings = {
        (r.window, r.epochs, r.batch_size, r.lr, r.weight_decay, r.grad_clip, r.reduction)
        for r in requests
    }
    return (
        len(shapes) == len(forecasters)
        and len(set(shapes)) == 1
        and len(settings) == 1
        and len({len(r.starts) for r in requests}) == 1
        and requests[0].epochs > 0
        and len(requests[0].starts) > 0
    )


def _shapes(module: nn.Module) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """Every parameter's and buffer's name and shape."""
    named = [*module.named_parameters(), *module.named_buffers()]
    return tuple((name, tuple(value.shape)) for name, value in named)
