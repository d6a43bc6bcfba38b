"""Live forecasting service: incidents in over HTTP, next-period forecast and patrols out.

:func:`create_app` builds the FastAPI application of one trained run (``fase serve``):
accepted incidents are stored in SQLite (:mod:`fase.serve.storage`), counted into the
run's bins (:mod:`fase.serve.timeline`, :mod:`fase.serve.placement`), and the next
period is forecast with the run's model (:mod:`fase.serve.forecast`), allocated with the
allocation policies and scored with their metrics (:mod:`fase.serve.state`).
"""

from typing import Any

__all__ = ["create_app", "default_db"]


def __getattr__(name: str) -> Any:
    """:func:`create_app` and :func:`default_db`, imported on first use (the command line
    reads :mod:`fase.serve.settings` without loading the service)."""
    if name in __all__:
        from fase.serve import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
