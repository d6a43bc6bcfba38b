"""How long-running work reports progress: a ``Say`` callback takes one plain line."""

from __future__ import annotations

from collections.abc import Callable

Say = Callable[[str], None]
"""Receives one progress line (no newline), e.g. ``"Phase 3: training …"``."""


def silent(_line: str) -> None:
    """A :data:`Say` that drops every line."""
