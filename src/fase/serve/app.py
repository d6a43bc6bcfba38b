"""The HTTP API of the live service (FastAPI); :func:`create_app` builds it for one run.

==========================  ===================================================
``POST /incidents``         store a batch (idempotent by id), answer the counts
``DELETE /incidents/{id}``  retract a stored incident (``reason`` logged)
``GET /incidents/pending``  stored incidents held out of the record (period rule)
``GET /forecast``           next period: E[Y] and distribution parameters (L, N)
``GET /allocation``         patrol (L, N) under ``policy`` and ``budget``
``GET /fairness``           DIR, Gini, coverage, detection by group, of that patrol
``GET /health``             liveness, incidents stored and pending, next period start
``GET /areas.geojson``      the run's areas (node order) with their group
``GET /``                   the live map (one self-contained HTML page)
``GET /openapi.json``       the schema (``/docs`` renders it)
==========================  ===================================================

Bad input never answers 500: malformed JSON is 400; a missing or mistyped field, a bad
timestamp, an unknown policy or a batch whose every row is rejected is 422; a body over
``MAX_BODY_BYTES``, declared or chunked, is 413, and one that stalls is 408; with an API
key, a write without it is 401; over the rate limit, 429; retracting an unknown id, 404
(:mod:`fase.serve.security`). Every 4xx body is :class:`~fase.serve.schemas.ErrorOut`, each
problem naming its field (``incidents[3].occurred_at``) and row. A batch with some usable
rows stores those and lists the others under ``rejected`` (200).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BeforeValidator, ValidationError
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from fase.config.allocation import AllocationConfig, PolicyName
from fase.errors import FaseInputError
from fase.rundir import RunDir
from fase.serve.page import live_map_page
from fase.serve.schemas import (
    AllocationOut,
    ErrorOut,
    FairnessOut,
    ForecastOut,
    HealthOut,
    IncidentBatch,
    IngestOut,
    PendingIncident,
    PendingOut,
    Problem,
    RetractionOut,
    is_clean_text,
)
from fase.serve.security import BodyLimit, RateLimit, TokenGuard
from fase.serve.settings import BODY_TIMEOUT_S, DEFAULT_QUORUM, MAX_BODY_BYTES
from fase.serve.state import Answer, LiveState, View

BUDGET_RANGE = (1e-6, 1e9)  # patrol units per bin; HiGHS fails on absurd scales (1e300)
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (400, 413, 422)}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}}
MAX_LISTED = 10_000  # pending incidents per GET /incidents/pending


DECIMAL = re.compile(r"[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?|\.[0-9]+([eE][+-]?[0-9]+)?")


def plain_decimal(value: object) -> object:
    """A query number as written plainly (``250``, ``2.5e2``); Python's other spellings
    (``1_000``, `` 5``, ``inf``) are refused, not converted."""
    if isinstance(value, str) and not DECIMAL.fullmatch(value):
        raise ValueError(f"{value!r} is not a plain decimal number")
    return value


def allocation_config(
    request: Request,
    policy: Annotated[PolicyName | None, Query(description="default: the run's")] = None,
    budget: Annotated[
        float | None,
        BeforeValidator(plain_decimal),
        Query(
            ge=BUDGET_RANGE[0],
            le=BUDGET_RANGE[1],
            allow_inf_nan=False,
            description="patrol units per bin",
        ),
    ] = None,
) -> AllocationConfig:
    """The run's allocation settings with the query's policy and budget."""
    base: AllocationConfig = request.app.state.live.trained.cfg.allocation
    given = {k: v for k, v in {"policy": policy, "budget": budget}.items() if v is not None}
    try:
        return AllocationConfig.model_validate({**base.model_dump(), **given})
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"]) or "budget"
        raise FaseInputError(field, error["msg"]) from None


Config = Annotated[AllocationConfig, Depends(allocation_config)]


def default_db(run_dir: str | Path) -> Path:
    """``RUN_DIR/serve/incidents.sqlite``."""
    return RunDir(run_dir).incidents_db


def create_app(
    run_dir: str | Path,
    db_path: str | Path | None = None,
    *,
    period: str | None = None,
    quorum: int = DEFAULT_QUORUM,
    device: str = "cpu",
    token: str | None = None,
    protect_reads: bool = False,
    allowed_hosts: Sequence[str] = ("*",),
    cors_origins: Sequence[str] = (),
    rate_limit: float | None = None,
    body_timeout: float = BODY_TIMEOUT_S,
) -> FastAPI:
    """The service for a trained run; loads the run and opens the database now.

    Args:
        run_dir: a run trained with ``fase train``.
        db_path: SQLite file of accepted incidents (default :func:`default_db`).
        period: forecast period, e.g. ``"1d"`` (default: the run's ``simulation.period``).
        quorum: stored incidents that must reach a bin before the period moves past it
            (:mod:`fase.serve.state`).
        device: where the model forecasts (``cpu``, ``cuda``, ``auto``).
        token: the API key every write (and, with ``protect_reads``, every read but
            ``/health``) must carry (:mod:`fase.serve.security`); None: no key.
        allowed_hosts: ``Host`` header values answered (others get 400); ``"*"``: any.
        cors_origins: origins browsers may call the API from; none: CORS off.
        rate_limit: requests per second per client address (bursts of twice as many,
            at least 10); None: no limit.
        body_timeout: seconds a request body may stall before the request gets 408.

    Raises:
        FaseInputError: the run or the database cannot be used.
    """
    state = LiveState.open(run_dir, db_path or default_db(run_dir), period, quorum, device)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        state.close()

    app = FastAPI(
        title="FASE live forecasting service",
        summary=f"run {Path(run_dir).resolve().name}: incidents in, forecast and patrols out",
        lifespan=lifespan,
        docs_url=None,  # served below from the installed Swagger UI, not a CDN
        redoc_url=None,
    )
    _add_offline_docs(app)
    app.state.live = state
    _add_error_handlers(app)
    _add_routes(app, state)
    # Starlette runs the last added outermost: host check, rate limit, key, then the body.
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES, timeout=body_timeout)
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    if token is not None:  # a request without the key is refused unread
        app.add_middleware(TokenGuard, token=token, protect_reads=protect_reads)
    if rate_limit is not None:
        app.add_middleware(RateLimit, rate=rate_limit, burst=max(10, math.ceil(2 * rate_limit)))
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    return app


def _add_routes(app: FastAPI, state: LiveState) -> None:
    areas_json = _areas_geojson(state).encode()
    page = live_map_page(state.trained.run.root.resolve().name)

    @app.get("/health", response_model=HealthOut)
    def health() -> HealthOut:
        return HealthOut(
            status="ok",
            run=state.trained.run.root.resolve().name,
            areas=len(state.area_ids),
            incidents_stored=state.incidents_stored,
            incidents_pending=state.incidents_pending,
            next_period_start=state.next_period_start(),
        )

    @app.post("/incidents", response_model=IngestOut, responses=ERRORS)
    def post_incidents(batch: IncidentBatch) -> IngestOut | JSONResponse:
        result = state.ingest(batch.incidents, time.time_ns())
        if result.accepted + result.duplicates == 0:
            return _error(422, result.rejected)
        return result

    @app.delete(
        "/incidents/{incident_id}", response_model=RetractionOut, responses=ERRORS | NOT_FOUND
    )
    def retract_incident(
        incident_id: str,
        reason: Annotated[
            str, Query(min_length=1, max_length=500, description="why (kept in the log)")
        ],
    ) -> RetractionOut | JSONResponse:
        if not is_clean_text(reason):
            return _error(422, [Problem(field="reason", problem="must not be blank or hold "
                                        "control characters")])  # fmt: skip
        if not state.retract(incident_id, reason):
            shown = incident_id if is_clean_text(incident_id) else None
            return _error(404, [Problem(field="incident_id", problem="no stored incident "
                                        "has this id", id=shown)])  # fmt: skip
        return RetractionOut(
            retracted=incident_id,
            incidents_stored=state.incidents_stored,
            incidents_pending=state.incidents_pending,
            next_period_start=state.next_period_start(),
        )

    @app.get("/incidents/pending", response_model=PendingOut, responses=ERRORS)
    def pending(
        limit: Annotated[int, Query(ge=1, le=MAX_LISTED, strict=True)] = 100,
    ) -> PendingOut:
        timeline = state.timeline
        rows = state.pending(limit)
        starts = timeline.iso([row.bin for row in rows])
        return PendingOut(
            incidents_pending=state.incidents_pending,
            next_period_start=state.next_period_start(),
            incidents=[
                PendingIncident(
                    id=row.id,
                    occurred_at=pd.Timestamp(row.occurred_at_ns, tz="UTC").isoformat(),
                    area=state.area_ids[row.area],
                    bin_start=start,
                )
                for row, start in zip(rows, starts, strict=True)
            ],
        )

    @app.get("/forecast", response_model=ForecastOut, responses=ERRORS)
    def forecast() -> Response:
        def build(view: View) -> ForecastOut:
            span = state.forecast(view)
            return ForecastOut(
                period=state.period(view),
                areas=state.area_ids,
                distribution=span.distribution,
                expected=span.expected.tolist(),
                params={k: v.tolist() for k, v in span.params.items()},
                period_total=span.expected.astype(float).sum(axis=0).tolist(),
                incidents_stored=view.incidents_stored,
            )

        return _json(state.answer("forecast", build))

    @app.get("/allocation", response_model=AllocationOut, responses=ERRORS)
    def allocation(config: Config) -> Response:
        def build(view: View) -> AllocationOut:
            result = state.allocation(config, view)
            return AllocationOut(
                policy=config.policy,
                budget=config.budget,
                risk=config.risk,
                period=state.period(view),
                areas=state.area_ids,
                patrol=result.patrol.tolist(),
                period_total=result.patrol.sum(axis=0).tolist(),
                incidents_stored=view.incidents_stored,
            )

        return _json(state.answer(("allocation", config.model_dump_json()), build))

    @app.get("/fairness", response_model=FairnessOut, responses=ERRORS)
    def fairness(config: Config) -> Response:
        def build(view: View) -> FairnessOut:
            metrics, groups = state.fairness(state.allocation(config, view))
            return FairnessOut(
                policy=config.policy,
                budget=config.budget,
                metrics=metrics,
                groups=groups,
                incidents_stored=view.incidents_stored,
            )

        return _json(state.answer(("fairness", config.model_dump_json()), build))

    @app.get("/areas.geojson", responses={200: {"content": {"application/geo+json": {}}}})
    def areas() -> Response:
        return Response(areas_json, media_type="application/geo+json")

    @app.get("/", response_class=HTMLResponse)
    def live_map() -> HTMLResponse:
        return HTMLResponse(page)


DOCS_ASSETS = "/docs-assets"


def _add_offline_docs(app: FastAPI) -> None:
    """``/docs``: Swagger UI from the ``swagger-ui-bundle-v2`` package's files, served by
    the service itself under ``/docs-assets``, so that the page works offline."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from starlette.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount(DOCS_ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title}: API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )


def _areas_geojson(state: LiveState) -> str:
    frame = state.locator.areas.frame[["area_id", "name", "geometry"]].copy()
    labels = [
        "minority" if m else "majority" if j else "unknown"
        for m, j in zip(state.groups.minority, state.groups.majority, strict=True)
    ]
    frame["group"] = labels
    return frame.to_json(drop_id=True)


RECORD_HEADER = "X-FASE-Record"
"""``current``: the answer is for the live record now; ``previous``: for an earlier state
of it, returned while the current answer is being computed (compare ``incidents_stored``)."""


def _json(answer: Answer) -> Response:
    record = "current" if answer.current else "previous"
    return Response(answer.body, media_type="application/json", headers={RECORD_HEADER: record})


def _error(status: int, problems: list[Problem]) -> JSONResponse:
    return JSONResponse(ErrorOut(detail=problems).model_dump(mode="json"), status_code=status)


def _field(loc: tuple[Any, ...]) -> tuple[str, int | None]:
    """``("body", "incidents", 3, "lat")`` → ``("incidents[3].lat", 3)``."""
    parts = [p for p in loc if p not in ("body", "query")] if len(loc) > 1 else list(loc)
    text, row = "", None
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
            row = part if row is None else row
        else:
            text += f".{part}" if text else str(part)
    return text or "body", row


def _row_id(exc: RequestValidationError, row: int | None) -> str | None:
    """The ``id`` the client gave row ``row`` of the batch, if it is a string."""
    try:
        value = exc.body["incidents"][row]["id"]
    except (TypeError, KeyError, IndexError):
        return None
    return value if isinstance(value, str) and is_clean_text(value) else None


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            if error.get("type") == "json_invalid":
                where = error["loc"][-1] if len(error["loc"]) > 1 else "?"
                detail = error.get("ctx", {}).get("error", "invalid JSON")
                problem = f"malformed JSON at character {where}: {detail}"
                return _error(400, [Problem(field="body", problem=problem)])
            field, row = _field(tuple(error["loc"]))
            message = error["msg"].removeprefix("Value error, ")
            problems.append(Problem(field=field, problem=message, row=row, id=_row_id(exc, row)))
        return _error(422, problems)

    @app.exception_handler(FaseInputError)
    async def input_error(_request: Request, exc: FaseInputError) -> JSONResponse:
        problem = exc.problem + (f" ({exc.hint})" if exc.hint else "")
        return _error(422, [Problem(field=exc.source, problem=problem)])

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        field = "body" if exc.status_code in (400, 413) else "request"
        return _error(exc.status_code, [Problem(field=field, problem=str(exc.detail))])
