"""What stands between the network and the live service: an API key, a body limit and
timeout, and a per-client rate limit.

* **API key** (:class:`TokenGuard`): with a key configured, every request that writes
  (``POST``, ``PUT``, ``PATCH``, ``DELETE``) — and, with ``protect_reads``, every
  request — must carry ``Authorization: Bearer <key>``; otherwise it gets 401 and
  nothing is stored. Keys are compared in constant time (:func:`hmac.compare_digest`)
  and never logged or echoed. ``/health`` (a load balancer's probe) and the API's
  documentation (``/docs``, its assets, ``/openapi.json``) stay open.
* **Body limit** (:class:`BodyLimit`): a declared ``Content-Length`` over the limit is
  refused before any byte is read (413); a body without one (chunked transfer) is
  counted as it arrives and refused as soon as it passes the limit, so memory stays
  bounded by the limit whatever the client sends. A client that stops sending its body
  for ``body_timeout`` seconds gets 408 and its connection's handler is freed.
* **Rate limit** (:class:`RateLimit`): each client address has a bucket of ``burst``
  requests that refills at ``rate`` per second; a request finding it empty gets 429 with
  ``Retry-After``. ``/health`` is not counted.

The ``Host`` allow-list (DNS rebinding) and CORS are Starlette's own middleware
(:func:`fase.serve.app.create_app`).

Both are plain ASGI middleware: they answer with the service's error body
(:class:`~fase.serve.schemas.ErrorOut`) themselves.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import math
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException

from fase.errors import FaseInputError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_VARIABLE = "FASE_SERVE_TOKEN"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
OPEN_PATHS = ("/health", "/docs", "/openapi.json")
"""Paths (and their sub-paths) that need no key even with ``protect_reads``: the liveness
probe and the API's documentation (a browser cannot send the key for its assets)."""
MIN_TOKEN_CHARS = 16
MAX_CLIENTS = 10_000  # rate-limit buckets kept before full ones are forgotten


async def send_error(send: Send, status: int, field: str, problem: str, **headers: str) -> None:
    """One JSON error response ``{"detail": [{"field", "problem"}]}``."""
    body = json.dumps({"detail": [{"field": field, "problem": problem}]}).encode()
    extra = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def read_token(token_file: Path | None) -> str | None:
    """The API key from ``token_file`` (its first line) or ``$FASE_SERVE_TOKEN``; None
    when neither is given.

    Raises:
        FaseInputError: the file is missing or the key is shorter than 16 characters.
    """
    if token_file is not None:
        if not token_file.is_file():
            raise FaseInputError(token_file, "token file not found", "give a file holding the key")
        lines = token_file.read_text(encoding="utf-8").splitlines()
        token, source = (lines[0].strip() if lines else ""), str(token_file)
    else:
        token, source = os.environ.get(TOKEN_VARIABLE, "").strip(), TOKEN_VARIABLE
        if not token:
            return None
    if len(token) < MIN_TOKEN_CHARS or not token.isprintable():
        raise FaseInputError(
            source,
            f"the API key must be at least {MIN_TOKEN_CHARS} printable characters",
            "generate one, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`",
        )
    return token


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an interface to listen on) is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_allowed_hosts(host: str) -> list[str]:
    """``Host`` header values answered when none are given: the loopback names on a
    loopback interface (a page of another site that rebinds its name to 127.0.0.1 is
    refused), the address itself on another, any host on all interfaces (``0.0.0.0``,
    ``::``; name yours with ``--allowed-host``)."""
    if is_loopback(host):
        return ["127.0.0.1", "localhost"]
    if host in ("0.0.0.0", "::", "[::]", ""):
        return ["*"]
    return [host]


def require_key_off_loopback(host: str, token: str | None) -> None:
    """Refuse to listen on a non-loopback interface without an API key."""
    if token is None and not is_loopback(host):
        raise FaseInputError(
            "--host",
            f"{host} is reachable from other machines and no API key is set",
            f"give --token-file FILE or set {TOKEN_VARIABLE}, or listen on 127.0.0.1",
        )


class TokenGuard:
    """401 for a request without the right ``Authorization: Bearer`` key (module docstring)."""

    def __init__(self, app: ASGIApp, token: str, protect_reads: bool = False) -> None:
        self.app, self.token, self.protect_reads = app, token.encode(), protect_reads

    def _authorised(self, scope: Scope) -> bool:
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"authorization", b"")
        scheme, _, key = given.partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(key.strip(), self.token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(OPEN_PATHS):
            guarded = scope["method"] in WRITES or self.protect_reads
            if guarded and not self._authorised(scope):
                problem = "missing or wrong API key: send Authorization: Bearer <key>"
                await send_error(
                    send, 401, "Authorization", problem, **{"WWW-Authenticate": "Bearer"}
                )
                return
        await self.app(scope, receive, send)


class _BodyRefused(HTTPException):
    """The body passed the limit (413) or stalled (408) while it was being received
    (FastAPI's body parsing passes HTTP exceptions through to the service's handler)."""


class BodyLimit:
    """413 for a body over ``limit`` bytes, declared or chunked; 408 for a body that
    stalls ``timeout`` seconds (module docstring)."""

    def __init__(self, app: ASGIApp, limit: int, timeout: float) -> None:
        self.app, self.limit, self.timeout = app, limit, timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            text = declared.decode("latin-1")
            if not text.isdigit():
                await send_error(
                    send, 400, "body", f"Content-Length {text!r} is not a number of bytes"
                )
                return
            if int(text) > self.limit:
                await send_error(send, 413, "body", self._problem(text))
                return
        received = 0
        complete = started = False

        async def counted() -> Message:
            nonlocal received, complete
            if complete:  # after the body: waiting for a disconnect is not a stall
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.timeout)
            except TimeoutError:
                raise _BodyRefused(408, f"no byte of the body for {self.timeout:g} s") from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > self.limit:
                    limit = self.limit
                    problem = f"the body has more than {limit} bytes; at most {limit} are accepted"
                    raise _BodyRefused(413, problem)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _BodyRefused as exc:
            if not started:
                await send_error(send, exc.status_code, "body", str(exc.detail))

    def _problem(self, size: str) -> str:
        return f"the body has {size} bytes; at most {self.limit} are accepted"


class RateLimit:
    """429 for a client over ``rate`` requests per second beyond a ``burst`` (module
    docstring). Clients are told apart by their address (behind a reverse proxy, run
    uvicorn with the proxy's forwarded-address headers trusted, or limit at the proxy)."""

    def __init__(
        self, app: ASGIApp, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.app, self.rate, self.burst, self.clock = app, rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client → (tokens, when)

    def _take(self, client: str) -> float:
        """0 if ``client`` may go on (one token taken), else seconds until it may."""
        now = self.clock()
        tokens, then = self._buckets.get(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[client] = (tokens - 1.0 if allowed else tokens, now)
        if len(self._buckets) > MAX_CLIENTS:  # full buckets hold no state: forget them
            self._forget_full(now)
        return 0.0 if allowed else (1.0 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        rate, burst = self.rate, self.burst
        kept = {c: (t, w) for c, (t, w) in self._buckets.items() if t + (now - w) * rate < burst}
        self._buckets = kept

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/health"):
            client = (scope.get("client") or ("unknown", 0))[0]
            wait = self._take(client)
            if wait > 0:
                problem = f"more than {self.rate:g} requests per second; retry in {wait:.1f} s"
                retry = str(max(1, math.ceil(wait)))
                await send_error(send, 429, "request", problem, **{"Retry-After": retry})
                return
        await self.app(scope, receive, send)
