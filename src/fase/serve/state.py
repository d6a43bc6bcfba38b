"""The service's live state: a trained run, the incidents stored since, and their forecast.

The live count record is the run's observed counts (``data/tensors.npz`` ``y``, bins
0..T−1) plus every stored incident counted in its (area, bin). The period advances by a
quorum: the record's last complete bin is the later of the run's last bin and the latest
bin b such that at least Q stored incidents (``quorum``, default 3) lie in bins ≥ b.
Every bin up to it is complete (a bin without incidents has count 0), and the next
period is the L bins after it (:mod:`fase.serve.forecast`). One stray record dated far
ahead cannot move the period: it waits, outside the record, until Q − 1 others reach as
far. A retraction (:meth:`LiveState.retract`) removes an incident and restores the
forecast the record had without it, exactly. The forecast, the allocations and the
JSON answers are cached until the record changes, and reads between batches cost a
dictionary look-up.

Two locks keep writers and readers out of each other's way. The record lock is held only
to change the counts (a batch, a retraction) or to copy them into a :class:`View` (one
version of the record, its frontier and incident count): a write never waits for a
forecast. The compute lock serialises the computations (the model runs once at a time);
each computes from its own view, outside the record lock, and its result is cached only
if the record has not changed since. A reader never waits behind another's computation
when an earlier answer exists: it gets that answer, marked as not current
(:meth:`LiveState.answer`). A reader never sees half a batch, and every answer is
computed from one version of the record.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

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
from fase.forecasters import Forecaster, TrainedRun
from fase.serve.forecast import forecast_period
from fase.serve.placement import Locator
from fase.serve.schemas import GroupOut, IncidentIn, IngestOut, MetricStats, PeriodOut
from fase.serve.settings import DEFAULT_QUORUM
from fase.serve.storage import IncidentStore, StoredIncident
from fase.serve.timeline import DEFAULT_LEAD, LiveTimeline
from fase.simulation.params import feature_map
from fase.training.distributed import resolve_device
from fase.training.forecast import SpanForecast

T = TypeVar("T")
MAX_CACHED = 64  # cached results per state of the record (allocations for many budgets)


@dataclass(frozen=True)
class View:
    """One version of the live record: its counts (N, F) float64 and what they imply."""

    version: int
    record: np.ndarray
    incidents_stored: int

    @property
    def frontier(self) -> int:
        """F, the first bin of the next period."""
        return self.record.shape[1]


@dataclass(frozen=True)
class Answer:
    """A JSON answer and whether it is for the record now (:meth:`LiveState.answer`)."""

    body: bytes
    current: bool


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
        quorum: int = DEFAULT_QUORUM,
    ) -> None:
        if quorum < 1:
            raise FaseInputError("--quorum", f"must be at least 1, got {quorum}")
        self.trained, self.store, self.timeline, self.locator = trained, store, timeline, locator
        self.forecaster: Forecaster = trained.forecaster  # the model that forecasts
        self.period_bins, self.quorum = period_bins, quorum
        meta = trained.tensors.meta
        self.area_ids: list[str] = [str(v) for v in meta["node_ids"]]
        self.groups = Groups.from_labels(meta["groups"])
        self.features = feature_map(trained.tensors, trained.cfg, timeline.starts)
        self._stored = np.zeros((len(self.area_ids), timeline.n_bins), dtype=np.int64)
        area, bins, count = store.cell_counts()
        np.add.at(self._stored, (area, bins), count)
        self._total = store.count()
        self._per_bin = self._stored.sum(axis=0)  # (bins,) stored incidents per bin
        self._place_frontier()
        self._version = 0
        self._lock = threading.Lock()  # the record (module docstring)
        self._compute_lock = threading.Lock()  # computations
        self._cache: dict[Hashable, object] = {}  # results for self._version
        self._last: dict[Hashable, bytes] = {}  # the latest answer built per key

    @classmethod
    def open(
        cls,
        run_dir: str | Path,
        db_path: str | Path,
        period: str | None = None,
        quorum: int = DEFAULT_QUORUM,
        device: str = "cpu",
    ) -> LiveState:
        """Load a trained run and its incident database (created if absent).

        Args:
            run_dir: a run trained with ``fase train`` (any registered model).
            db_path: the SQLite file of accepted incidents.
            period: length of the forecast period (default: the run's ``simulation.period``).
            quorum: Q of the period rule (module docstring).
            device: where the model forecasts (``cpu``, ``cuda``, ``auto``).
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
        store = IncidentStore(db_path, fingerprint)
        state = cls(trained, store, timeline, locator, period_bins, quorum)
        where = resolve_device(device)
        if where.type != "cpu":
            state.forecaster = trained.forecaster.clone(trained.cfg.seed, where)
        return state

    def _place_frontier(self) -> None:
        """The frontier by the quorum rule, and the incidents stored at or after it."""
        self._frontier = self._quorum_frontier()
        self._pending = int(self._per_bin[self._frontier :].sum())

    def _quorum_frontier(self) -> int:
        """F = max(T_run, b + 1), b the latest bin with ≥ Q stored incidents at or after it."""
        reaching = np.cumsum(self._per_bin[::-1])[::-1]  # incidents in bins ≥ b
        enough = np.flatnonzero(reaching >= self.quorum)
        latest = int(enough[-1]) if enough.size else -1
        return max(self.timeline.run_bins, latest + 1)

    @property
    def frontier(self) -> int:
        """F, the first bin of the next period (the quorum rule, module docstring)."""
        return self._frontier

    @property
    def incidents_stored(self) -> int:
        """Incidents stored now (in the record or pending)."""
        return self._total

    @property
    def incidents_pending(self) -> int:
        """Stored incidents at or after the frontier: outside the record until the quorum
        reaches them (module docstring)."""
        return self._pending

    def pending(self, limit: int) -> list[StoredIncident]:
        """Up to ``limit`` pending incidents (:attr:`incidents_pending`), earliest first."""
        return self.store.stored_from(self.frontier, limit)

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
                self._per_bin[incident.bin] += 1
            if new:
                self._total += len(new)
                self._changed()
            return IngestOut(
                accepted=len(new),
                duplicates=len(placement.incidents) - len(new),
                rejected=placement.rejected,
                incidents_stored=self._total,
                incidents_pending=self._pending,
                next_period_start=self.next_period_start(),
            )

    def retract(self, incident_id: str, reason: str) -> bool:
        """Remove a stored incident (logged with ``reason``); whether it was stored."""
        with self._lock:
            removed = self.store.retract(incident_id, reason)
            if removed is None:
                return False
            self._stored[removed.area, removed.bin] -= 1
            self._per_bin[removed.bin] -= 1
            self._total -= 1
            self._changed()
            return True

    def _changed(self) -> None:
        """The counts changed (record lock held): a new version, nothing cached."""
        self._place_frontier()
        self._version += 1
        self._cache.clear()

    def view(self) -> View:
        """The live record now (module docstring), a copy no write will change."""
        with self._lock:
            frontier = self.frontier
            record = self._stored[:, :frontier].astype(np.float64)
            view = View(self._version, record, self._total)
        record[:, : self.timeline.run_bins] += self.trained.tensors.y
        return view

    def period(self, view: View) -> PeriodOut:
        """The L bins forecast from ``view``."""
        start = view.frontier
        edges = self.timeline.iso(range(start, start + self.period_bins + 1))
        return PeriodOut(
            start=edges[0],
            end=edges[-1],
            bin=self.timeline.bin_label,
            timezone=self.timeline.grid.timezone,
            bins=edges[:-1],
        )

    def forecast(self, view: View) -> SpanForecast:
        """The next period's forecast from ``view`` (cached while it is the record)."""

        def compute() -> SpanForecast:
            with torch.inference_mode():
                return forecast_period(
                    self.forecaster, self.features, view.record, self.period_bins
                )

        return self._memo(view, ("forecast",), compute)

    def allocation(self, config: AllocationConfig, view: View) -> Allocation:
        """Patrol for the period after ``view`` under ``config`` (cached per config)."""
        if self.groups.n_nodes * config.floor > config.budget:
            raise FaseInputError(
                "floor", f"{config.floor} × {self.groups.n_nodes} areas exceeds the budget"
            )

        def compute() -> Allocation:
            forecast = self.forecast(view)
            risk = forecast.expected if config.risk == "expected" else forecast.params["mu"]
            risk = np.asarray(risk, dtype=np.float64)
            return Allocation(config, risk, make_policy(config).allocate(risk, self.groups))

        return self._memo(view, ("allocation", config.model_dump_json()), compute)

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

    def answer(self, key: Hashable, build: Callable[[View], BaseModel]) -> Answer:
        """The JSON of ``build(view)``, built once per version of the record.

        A cached answer is returned at once. Otherwise, while another computation is
        under way, the last answer built for ``key`` is returned (``current`` False)
        rather than waiting behind it; with no computation under way, or no earlier
        answer, the answer for the record now is built (waiting its turn).
        """
        with self._lock:
            cached = self._cache.get(("json", key))
            if cached is not None:
                return Answer(cached, current=True)  # type: ignore[arg-type]
            last = self._last.get(key)
        if last is not None and not self._compute_lock.acquire(blocking=False):
            return Answer(last, current=False)
        if last is None:
            self._compute_lock.acquire()
        try:
            view = self.view()
            body = self._memo(view, ("json", key), lambda: build(view).model_dump_json().encode())
            with self._lock:
                if len(self._last) >= MAX_CACHED and key not in self._last:
                    self._last.clear()
                self._last[key] = body
            return Answer(body, current=True)
        finally:
            self._compute_lock.release()

    def _memo(self, view: View, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()`` for ``view``, cached while ``view`` is the record."""
        with self._lock:
            if view.version == self._version and key in self._cache:
                return self._cache[key]  # type: ignore[return-value]
        value = compute()
        with self._lock:
            if view.version == self._version:
                if len(self._cache) >= MAX_CACHED:  # many budgets asked for: keep the forecast
                    self._cache = {k: v for k, v in self._cache.items() if k == ("forecast",)}
                self._cache[key] = value
        return value

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
