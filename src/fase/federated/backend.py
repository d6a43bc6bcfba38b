"""Which executor runs the ClientApps inside Flower's simulation runtime.

Flower 1.41's runtime (``flwr.simulation.run_simulation`` → ``vce_api.start_vce``) has no
backend registry: it always builds ``RayBackend``, a local Ray instance whose actors run
the ClientApps. :class:`InProcessBackend` implements Flower's ``Backend`` interface in
this process instead (one message at a time: deterministic, nothing to start), and
:func:`use_backend` puts it in ``RayBackend``'s place while a run lasts. Everything else
— SuperLink state, grid, message routing, the ServerApp thread — stays Flower's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Literal

from flwr.app import Context, Message
from flwr.clientapp import ClientApp
from flwr.clientapp.client_app import ClientAppException, LoadClientAppError
from flwr.server.superlink.fleet.vce.backend import Backend, BackendConfig

BackendName = Literal["inprocess", "ray"]


class InProcessBackend(Backend):
    """A Flower simulation backend that runs the ClientApp in this process, one message
    at a time: what Flower's Ray actor does (errors included), without Ray."""

    def __init__(self, backend_config: BackendConfig) -> None:
        super().__init__(backend_config)
        self.app_fn: Callable[[], ClientApp] | None = None

    def build(self, app_fn: Callable[[], ClientApp]) -> None:
        self.app_fn = app_fn

    @property
    def num_workers(self) -> int:
        return 1

    def is_worker_idle(self) -> bool:
        return True

    def terminate(self) -> None:
        self.app_fn = None

    def process_message(self, message: Message, context: Context) -> tuple[Message, Context]:
        if self.app_fn is None:
            raise RuntimeError("build() the backend before processing messages")
        try:
            return self.app_fn()(message=message, context=context), context
        except LoadClientAppError:
            raise
        except Exception as exc:  # as Flower's Ray actor: the reply becomes an error
            raise ClientAppException(f"{type(exc).__name__}: {exc}") from exc


@contextlib.contextmanager
def use_backend(name: BackendName) -> Iterator[None]:
    """Run Flower's simulation runtime with ``name``'s backend inside this block."""
    if name == "ray":
        yield
        return
    from flwr.server.superlink.fleet.vce.backend import raybackend

    original = raybackend.RayBackend
    raybackend.RayBackend = InProcessBackend  # type: ignore[misc]
    try:
        yield
    finally:
        raybackend.RayBackend = original  # type: ignore[misc]
