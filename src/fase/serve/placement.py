"""Where and when a live incident counts: its area (spatial join) and its bin.

The area is found exactly as Phase 1 finds it (:func:`fase.data.areas.assign_points`
on the run's own ``data/areas.geojson``, with the run's join predicate and
nearest-area fallback radius); the bin on the service's extended time axis
(:class:`fase.serve.timeline.LiveTimeline`). A row is rejected, with the field and the
reason, when its time is before the run's first bin, later than the axis allows, or
in the future, or when its point lies in no area.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from fase.data.areas import Areas, assign_points
from fase.serve.schemas import IncidentIn, Problem
from fase.serve.storage import StoredIncident
from fase.serve.timeline import LiveTimeline

FUTURE_TOLERANCE_NS = 15 * 60 * 10**9  # clock skew allowed between client and service


@dataclass(frozen=True)
class Placement:
    """A batch split into the incidents to store and the rejected rows."""

    incidents: list[StoredIncident]
    rejected: list[Problem]


@dataclass(frozen=True)
class Locator:
    """Maps reported incidents to (area, bin) of the run.

    Attributes:
        areas: the run's N areas in node order.
        timeline: the extended time axis.
        last_bin: the last bin an incident may fall in (the axis minus one period).
        predicate: ``covered_by`` or ``within`` (the run's ``data.join_predicate``).
        nearest_max_m: nearest-area fallback radius in metres (0: off).
    """

    areas: Areas
    timeline: LiveTimeline
    last_bin: int
    predicate: Literal["covered_by", "within"] = "covered_by"
    nearest_max_m: float = 0.0

    def place(self, batch: Sequence[IncidentIn], now_ns: int) -> Placement:
        """Area and bin of every row, or the reason it is rejected (one per row)."""
        utc = self.timeline.to_utc_ns([row.occurred_at for row in batch])
        bins = self.timeline.assign(utc)
        lon = np.array([row.lon for row in batch], dtype=np.float64)
        lat = np.array([row.lat for row in batch], dtype=np.float64)
        area = assign_points(lon, lat, self.areas, self.predicate, self.nearest_max_m).node
        edges = self.timeline.grid.edges
        limit = self.timeline.iso([self.last_bin + 1])[0]
        keep: list[int] = []
        rejected: list[Problem] = []
        for i, row in enumerate(batch):
            problem = None
            field = f"incidents[{i}].occurred_at"
            if utc[i] < edges[0]:
                problem = f"is before the run's first bin ({self.timeline.iso([0])[0]})"
            elif utc[i] > now_ns + FUTURE_TOLERANCE_NS:
                problem = "is in the future"
            elif bins[i] < 0 or bins[i] > self.last_bin:
                problem = f"is after the last time this service accepts ({limit})"
            elif area[i] < 0:
                field = f"incidents[{i}].lat/lon"
                problem = f"({row.lat}, {row.lon}) lies in none of the run's {self.areas.n} areas"
            if problem is None:
                keep.append(i)
            else:
                rejected.append(Problem(field=field, problem=problem, row=i, id=row.id))
        incidents = [
            StoredIncident(
                batch[i].id,
                int(utc[i]),
                float(lat[i]),
                float(lon[i]),
                batch[i].type,
                int(area[i]),
                int(bins[i]),
            )
            for i in keep
        ]
        return Placement(incidents, rejected)
