"""The service's defaults and limits, in one place (``fase serve`` options override some).

Kept free of heavy imports: the command line reads them to show its defaults.
"""

from __future__ import annotations

DEFAULT_QUORUM = 3
"""Stored incidents that must reach a bin before the period moves past it
(:mod:`fase.serve.state`; ``--quorum``)."""
DEFAULT_RATE_LIMIT = 50.0
"""Requests per second per client address (``--rate-limit``; 0: none)."""
MAX_BODY_BYTES = 16 * 2**20
"""Largest request body, declared or chunked (413 beyond)."""
BODY_TIMEOUT_S = 30.0
"""Seconds a request body may stall before the request gets 408."""
KEEP_ALIVE_S = 5
"""Seconds an idle keep-alive connection stays open."""
MAX_CONNECTIONS = 256
"""Concurrent connections; beyond this, new ones get 503 at once."""
