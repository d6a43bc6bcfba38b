"""The service's live state: a trained run, the incidents stored since, and their forecast.

The live count record is the run's observed counts (``data/tensors.npz`` ``y``, bins
0..T−1) plus every stored incident counted in its (area, bin). Its last bin is the later
of the run's last bin and the bin of the latest stored incident: every bin up to it is
taken as complete (a bin without incidents has count 0), and the next period is the L
bins after it (:mod:`fase.serve.forecast`). Incidents are never removed, so their count
identifies the record; the forecast, the allocations and the JSON answers are cached
until it changes, and reads between batches cost a dictionary look-up.

One lock serialises ingestion and computation: a reader never sees half a batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel

from fase.allocation.detection import expected_detection_rate
from fase.allocation.groups import Groups
from fase.allocation.metrics import allocation_metrics, summarize
from fase.allocation.policies import make_policy
from fase.config import bins_per, parse_duration
from fase.config.allocation import AllocationConfig
from fase.config.dataset import AreaSource
from fase.data.areas import load_areas
from fase.errors import FaseInputError
from fase.forecasters import TrainedRun
from fase.serve.forecast import forecast_period
from fase.serve.placement import Locator
from fase.serve.schemas import GroupOut, IncidentIn, IngestOut, MetricStats, PeriodOut
from fase.serve.storage import IncidentStore
from fase.serve.timeline import DEFAULT_LEAD, LiveTimeline
from fase.simulation.params import feature_map
from fase.training.forecast import SpanForecast

MAX_CACHED = 64  # cached results per state of the record (allocations for many budgets)


@dataclass(frozen=True)
class Allocation:
    """Patrol (L, N) for the next period under ``config``, allocated on ``risk`` (L, N)."""

    config: AllocationConfig
    risk: np.ndarray
    patrol: np.ndarray


class LiveState:
    """Everything the endpoints read (module docstring). Build it with :meth:`open`."""

    def __init__(
        self,
        trained: TrainedRun,
        store: IncidentStore,
        timeline: LiveTimeline,
        locator: Locator,
        period_bins: int,
    ) -> None:
        self.trained, self.store, self.timeline, self.locator = trained, store, timeline, locator
        self.period_bins = period_bins
        meta = trained.tensors.meta
        self.area_ids: list[str] = [str(v) for v in meta["node_ids"]]
        self.groups = Groups.from_labels(meta["groups"])
        self.features = feature_map(trained.tensors, trained.cfg, timeline.starts)
        self._stored = np.zeros((len(self.area_ids), timeline.n_bins), dtype=np.int64)
        area, bins, count = store.cell_counts()
        np.add.at(self._stored, (area, bins), count)
        self._last_bin = int(bins.max()) if bins.size else -1
        self._total = store.count()
        self._lock = threading.RLock()
        self._cache: dict[Hashable, object] = {}

    @classmethod
    def open(cls, run_dir: str | Path, db_path: str | Path, period: str | None = None) -> LiveState:
        """Load a trained run and its incident database (created if absent).

        Args:
            run_dir: a run trained with ``fase train`` (any registered model).
            db_path: the SQLite file of accepted incidents.
            period: length of the forecast period (default: the run's ``simulation.period``).
        """
        trained = TrainedRun.load(run_dir)
        run, meta = trained.run, trained.tensors.meta
        width = parse_duration(meta["bin"], "data/meta.json bin")
        field = "--period" if period else "simulation.period"
        period_bins = bins_per(period or trained.cfg.simulation.period, width, field)
        lead = DEFAULT_LEAD + period_bins * width
        timeline = LiveTimeline.extend(trained.tensors.bin_start, width, meta["timezone"], lead)
        source = AreaSource(
            path=str(run.areas),
            id_column="area_id",
            name_column="name",
            projected_crs=trained.cfg.dataset.areas.projected_crs,
        )
        areas = load_areas(source, None)
        if areas.ids != [str(v) for v in meta["node_ids"]]:
            raise FaseInputError(source.path, "areas differ from data/meta.json's node_ids")
        cfg = trained.cfg
        nearest = cfg.dataset.areas.nearest_max_m if cfg.data.nearest_fallback else 0.0
        last_bin = timeline.n_bins - period_bins - 1
        locator = Locator(areas, timeline, last_bin, cfg.data.join_predicate, nearest)
        fingerprint = {
            "node_ids": areas.ids,
            "first_bin_ns": int(trained.tensors.bin_start[0]),
            "bin": meta["bin"],
            "timezone": meta["timezone"],
        }
        return cls(trained, IncidentStore(db_path, fingerprint), timeline, locator, period_bins)

    @property
    def frontier(self) -> int:
        """F, the first bin of the next period."""
        return max(self.timeline.run_bins, self._last_bin + 1)

    @property
    def incidents_stored(self) -> int:
        """Incidents stored; it only grows, so it identifies the live record."""
        return self._total

    def next_period_start(self) -> str:
        return self.timeline.iso([self.frontier])[0]

    def ingest(self, batch: Sequence[IncidentIn], now_ns: int) -> IngestOut:
        """Place, store (committed before returning) and count a batch."""
        placement = self.locator.place(batch, now_ns)
        with self._lock:
            fresh = self.store.insert(placement.incidents)
            new = [incident for incident, f in zip(placement.incidents, fresh, strict=True) if f]
            for incident in new:
                self._stored[incident.area, incident.bin] += 1
                self._last_bin = max(self._last_bin, incident.bin)
            if new:
                self._total += len(new)
                self._cache.clear()
            return IngestOut(
                accepted=len(new),
                duplicates=len(placement.incidents) - len(new),
                rejected=placement.rejected,
                incidents_stored=self._total,
                next_period_start=self.next_period_start(),
            )

    def record(self) -> np.ndarray:
        """(N, F) float64 live count record (module docstring)."""
        with self._lock:
            record = self._stored[:, : self.frontier].astype(np.float64)
        record[:, : self.timeline.run_bins] += self.trained.tensors.y
        return record

    def period(self) -> PeriodOut:
        start = self.frontier
        edges = self.timeline.iso(range(start, start + self.period_bins + 1))
        return PeriodOut(
            start=edges[0],
            end=edges[-1],
            bin=self.timeline.bin_label,
            timezone=self.timeline.grid.timezone,
            bins=edges[:-1],
        )

    def forecast(self) -> SpanForecast:
        """The next period's forecast (cached until the record changes)."""
        with self._lock:
            return self._cached(("forecast",), self._compute_forecast)

    def _compute_forecast(self) -> SpanForecast:
        with torch.inference_mode():
            return forecast_period(
                self.trained.forecaster, self.features, self.record(), self.period_bins
            )

    def allocation(self, config: AllocationConfig) -> Allocation:
        """Patrol for the next period under ``config`` (cached per record and config)."""
        if self.groups.n_nodes * config.floor > config.budget:
            raise FaseInputError(
                "floor", f"{config.floor} × {self.groups.n_nodes} areas exceeds the budget"
            )

        def compute() -> Allocation:
            forecast = self.forecast()
            risk = forecast.expected if config.risk == "expected" else forecast.params["mu"]
            risk = np.asarray(risk, dtype=np.float64)
            return Allocation(config, risk, make_policy(config).allocate(risk, self.groups))

        with self._lock:
            return self._cached(("allocation", config.model_dump_json()), compute)

    def fairness(
        self, allocation: Allocation
    ) -> tuple[dict[str, MetricStats], dict[str, GroupOut]]:
        """Per-bin metrics over the period and each group's share (:func:`group_summary`)."""
        config = allocation.config
        metrics = allocation_metrics(
            allocation.patrol,
            allocation.risk,
            self.groups,
            config.budget,
            config.p_base,
            config.p_max,
        )
        stats = {
            name: MetricStats(**{**values, "undefined": int(values["undefined"])})
            for name, values in summarize(metrics).items()
        }
        return stats, group_summary(allocation, self.groups)

    def cached_json(self, key: Hashable, build: Callable[[], BaseModel]) -> bytes:
        """The JSON of ``build()``, built once per state of the record."""
        with self._lock:
            return self._cached(("json", key), lambda: build().model_dump_json().encode())

    def _cached(self, key: Hashable, compute: Callable[[], object]) -> object:
        if key not in self._cache:
            if len(self._cache) >= MAX_CACHED:  # many budgets asked for: keep the forecast
                self._cache = {k: v for k, v in self._cache.items() if k == ("forecast",)}
            self._cache[key] = compute()
        return self._cache[key]

    def close(self) -> None:
        self.store.close()


def group_summary(allocation: Allocation, groups: Groups) -> dict[str, GroupOut]:
    """Each group's share of patrol and risk over the whole period, its mean patrol per
    area and bin, and its expected detection rate Σ d(p)·r / Σ r over all its cells."""
    patrol, risk = allocation.patrol, np.clip(allocation.risk, 0.0, None)
    config = allocation.config
    masks = {"minority": groups.minority, "majority": groups.majority}
    masks["unknown"] = ~(groups.minority | groups.majority)
    steps = patrol.shape[0]
    out = {}
    for name, mask in masks.items():
        detection = expected_detection_rate(
            patrol.reshape(1, -1),
            risk.reshape(1, -1),
            np.tile(mask, steps),
            config.budget,
            config.p_base,
            config.p_max,
        )[0]
        out[name] = GroupOut(
            areas=int(mask.sum()),
            patrol_share=_share(patrol[:, mask].sum(), patrol.sum()),
            risk_share=_share(risk[:, mask].sum(), risk.sum()),
            mean_patrol=float(patrol[:, mask].mean()) if mask.any() else None,
            detection_rate=None if np.isnan(detection) else float(detection),
        )
    return out


def _share(part: float, total: float) -> float | None:
    return float(part / total) if total > 0 else None
