"""Neural forecasters of the zoo: any :class:`~fase.training.CountForecaster` module,
trained by the one training engine (:func:`fase.training.fit`) and forecast with
:func:`fase.training.forecast_span`.

A neural model is a subclass that says how to build its module from the data
(:meth:`NeuralForecaster.build_module`) and how many past bins a forecast needs
(:meth:`NeuralForecaster.warmup`); training, early stopping, checkpoints and
forecasting are shared.
"""

from __future__ import annotations

import tempfile
import time
from abc import abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from fase.config.training import TrainingConfig
from fase.errors import FaseInputError
from fase.models.distributions import CountDistribution
from fase.training.engine import fit
from fase.training.forecast import forecast_span
from fase.training.pipeline import split_windows
from fase.training.windows import CountSeries
from fase.zoo.base import FitReport, Forecaster
from fase.zoo.data import ForecastData

if TYPE_CHECKING:
    from fase.explain.attributions import Attribution


class NeuralForecaster(Forecaster):
    """A torch module trained with :class:`TrainingConfig` (``objective`` nll or mse)."""

    def __init__(self, training: TrainingConfig) -> None:
        self.training = training
        self.module: nn.Module | None = None

    @abstractmethod
    def build_module(self, data: ForecastData) -> nn.Module:
        """A fresh :class:`~fase.training.CountForecaster` module for ``data``'s shapes."""

    @abstractmethod
    def warmup(self, module: nn.Module) -> int:
        """Bins of context before a forecast span that make it exact (receptive field − 1)."""

    @property
    def num_parameters(self) -> int:
        if self.module is None:
            return 0
        return sum(p.numel() for p in self.module.parameters() if p.requires_grad)

    def _series(self, data: ForecastData, module: nn.Module) -> CountSeries:
        return CountSeries(data.x, data.y.astype("float32"), module.history_steps)

    def fit(self, data: ForecastData, *, seed: int, out_dir: Path | None = None) -> FitReport:
        """Seed torch with ``seed``, build the module and train it with early stopping on
        the validation windows; the module keeps the best (or last) weights."""
        torch.manual_seed(seed)
        module = self.build_module(data)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="fase-zoo-") as scratch:
            result = fit(
                module,
                self._series(data, module),
                split_windows(data.split, self.training),
                self.training,
                seed=seed,
                out_dir=out_dir if out_dir is not None else scratch,
                progress=False,
            )
        self.module = module
        return FitReport(
            seconds=time.perf_counter() - started,
            epochs=result.state.epoch,
            best_val_loss=result.state.best_val_loss,
            notes={"scored_epoch": result.scored_epoch},
        )

    def predict(self, data: ForecastData, start: int, end: int) -> CountDistribution:
        if self.module is None:
            raise RuntimeError(f"{self.name}: call fit() before predict()")
        series = self._series(data, self.module)
        forecast = forecast_span(self.module, series, start, end, warmup=self.warmup(self.module))
        params = {k: torch.as_tensor(v, dtype=torch.float64) for k, v in forecast.params.items()}
        return self.module.distribution(params)

    def explain(
        self, data: ForecastData, windows: int = 4, bins: int = 24, n_steps: int = 32
    ) -> Attribution:
        """Integrated-Gradients attributions of ``windows`` test-split forecasts of ``bins``
        bins each, evenly spread over the test split (each with its exact warm-up), of the
        expected count summed over all areas (:func:`fase.explain.explain_windows`)."""
        from fase.explain.attributions import explain_windows

        if self.module is None:
            raise RuntimeError(f"{self.name}: call fit() before explain()")
        warmup = self.warmup(self.module)
        start, end = data.bounds("test")
        first = max(start, warmup)
        if end - first < bins:
            raise FaseInputError(
                "test split", f"has fewer than {bins} bins after {warmup} warm-up bins"
            )
        starts = np.linspace(first, end - bins, windows).round().astype(np.int64)
        return explain_windows(self.module, data, starts, bins, warmup=warmup, n_steps=n_steps)
