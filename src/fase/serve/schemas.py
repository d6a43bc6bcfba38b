"""Request and response bodies of the live service (they make its OpenAPI schema).

Arrays of a period are lists of rows: row l is bin l of the period, column v is area v
in the run's node order (``areas``). Counts are incidents per bin; patrol is in patrol
units per bin. NaN (an undefined metric) is written as ``null``.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_BATCH = 10_000  # incidents per POST /incidents
YEARS = (1900, 2200)  # plausible incident years (and inside pandas' nanosecond range)

Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False, description="degrees")]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False, description="degrees")]


def is_clean_text(text: str) -> bool:
    """Whether ``text`` is not blank and has no control character or lone surrogate."""
    return bool(text.strip()) and not any(unicodedata.category(c) in ("Cc", "Cs") for c in text)


class IncidentIn(BaseModel):
    """One incident as the client reports it. Types are strict: a number given as a
    string, or a boolean, is refused rather than converted."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: str = Field(min_length=1, max_length=200, description="unique id; re-posting is a no-op")
    occurred_at: dt.datetime = Field(
        description="ISO 8601 date and time; with an offset (2021-03-01T10:15:00-06:00, …Z) "
        "an absolute instant, without one the local wall time of the dataset's zone"
    )
    lat: Latitude
    lon: Longitude
    type: str | None = Field(None, max_length=200, description="crime type (stored, not used)")

    @field_validator("id", "type")
    @classmethod
    def _clean(cls, value: str | None) -> str | None:
        if value is not None and not is_clean_text(value):
            raise ValueError("must not be blank or hold control characters")
        return value

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _iso_date_time(cls, value: Any) -> dt.datetime:
        if not isinstance(value, str):
            raise ValueError("must be an ISO 8601 date-time string")
        text = value.strip()
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 date-time") from None
        if len(text) <= 10:
            raise ValueError(f"{value!r} has a date but no time of day")
        if not YEARS[0] <= parsed.year <= YEARS[1]:
            raise ValueError(f"{value!r} is outside the years {YEARS[0]}–{YEARS[1]}")
        return parsed


class IncidentBatch(BaseModel):
    """A batch of incidents (1 to ``MAX_BATCH``)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    incidents: list[IncidentIn] = Field(min_length=1, max_length=MAX_BATCH)


class Problem(BaseModel):
    """What is wrong with the request: the field (``incidents[3].lat``), row and message."""

    field: str
    problem: str
    row: int | None = None
    id: str | None = None


class ErrorOut(BaseModel):
    """Body of every 4xx answer."""

    detail: list[Problem]


class IngestOut(BaseModel):
    """Outcome of a batch: stored (committed to disk before this answer), already stored,
    rejected (with the reason per row)."""

    accepted: int
    duplicates: int
    rejected: list[Problem]
    incidents_stored: int
    incidents_pending: int = Field(
        description="stored incidents after the record's last complete bin, held out of the "
        "forecast until enough others reach as far (the period rule, docs/serving.md)"
    )
    next_period_start: str


class RetractionOut(BaseModel):
    """Outcome of a retraction: the incident left the record (its row is kept in the
    database's retractions log with the reason)."""

    retracted: str = Field(description="the incident's id")
    incidents_stored: int
    incidents_pending: int
    next_period_start: str


class PendingIncident(BaseModel):
    """A stored incident outside the record: where and when it would count."""

    id: str
    occurred_at: str = Field(description="UTC ISO 8601")
    area: str = Field(description="area id")
    bin_start: str = Field(description="local ISO start of its bin")


class PendingOut(BaseModel):
    """Stored incidents held out of the forecast (earliest first, at most ``limit``)."""

    incidents_pending: int
    next_period_start: str
    incidents: list[PendingIncident]


class PeriodOut(BaseModel):
    """The forecast period: L bins from ``start`` (inclusive) to ``end`` (exclusive)."""

    start: str
    end: str
    bin: str
    timezone: str
    bins: list[str] = Field(description="local ISO start of each of the L bins")


class ForecastOut(BaseModel):
    """Next-period forecast: the predictive distribution of each bin and area."""

    period: PeriodOut
    areas: list[str]
    distribution: str
    expected: list[list[float]] = Field(description="(L, N) expected incidents E[Y]")
    params: dict[str, list[list[float]]] = Field(description="(L, N) per distribution parameter")
    period_total: list[float] = Field(description="(N,) expected incidents over the period")
    incidents_stored: int = Field(description="live incidents in the record forecast from")


class AllocationOut(BaseModel):
    """Patrol units per bin and area for the forecast period under one policy."""

    policy: str
    budget: float
    risk: str = Field(description="the forecast array allocated on: expected or mu")
    period: PeriodOut
    areas: list[str]
    patrol: list[list[float]] = Field(description="(L, N) patrol units")
    period_total: list[float] = Field(description="(N,) patrol units over the period")
    incidents_stored: int


class MetricStats(BaseModel):
    """A per-bin metric over the period's bins (NaN bins ignored; ``undefined`` counts them)."""

    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    undefined: int


class GroupOut(BaseModel):
    """One fairness group over the whole period."""

    areas: int
    patrol_share: float | None = Field(description="share of all patrol units")
    risk_share: float | None = Field(description="share of all forecast risk")
    mean_patrol: float | None = Field(description="patrol units per area and bin")
    detection_rate: float | None = Field(description="expected share of incidents recorded")


class FairnessOut(BaseModel):
    """Fairness of the allocation of the forecast period (:mod:`fase.allocation.metrics`)."""

    policy: str
    budget: float
    metrics: dict[str, MetricStats]
    groups: dict[str, GroupOut]
    incidents_stored: int


class HealthOut(BaseModel):
    """Liveness and the size of the live record."""

    status: str
    run: str = Field(description="the run's folder name")
    areas: int
    incidents_stored: int
    incidents_pending: int
    next_period_start: str
