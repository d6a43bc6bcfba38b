"""Durations written as text in configs ("1h", "8h", "1D", "24h", "7d") and
their conversion to a whole number of time bins."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from pydantic import AfterValidator

from fase.errors import FaseInputError


def parse_duration(text: str, field: str = "duration") -> pd.Timedelta:
    """Parse ``text`` (e.g. ``"1h"``, ``"7d"``, ``"1D"``) into a positive Timedelta."""
    try:
        raw = str(text).strip()
        # "7d" and "7D" both mean seven days; pandas deprecates the lower-case unit.
        value = pd.Timedelta(raw[:-1] + "D" if raw.endswith("d") else raw)
    except (ValueError, TypeError) as exc:
        raise FaseInputError(
            field, f"cannot read duration {text!r}", 'write it like "1h", "8h" or "1D"'
        ) from exc
    if value <= pd.Timedelta(0):
        raise FaseInputError(field, f"duration {text!r} must be positive")
    return value


def bins_per(
    duration: str | pd.Timedelta, bin_width: str | pd.Timedelta, field: str = "duration"
) -> int:
    """Number of bins of width ``bin_width`` in ``duration``; it must divide exactly.

    >>> bins_per("7d", "1h")
    168
    >>> bins_per("24h", "1D")
    1
    """
    span = parse_duration(duration, field) if isinstance(duration, str) else duration
    width = parse_duration(bin_width, "bin") if isinstance(bin_width, str) else bin_width
    ratio = span / width
    if ratio < 1 or abs(ratio - round(ratio)) > 1e-9:
        raise FaseInputError(
            field,
            f"{span} is not a whole number (>= 1) of {width} bins",
            "choose a window that is a multiple of the bin width",
        )
    return round(ratio)


def _readable(value: str) -> str:
    try:
        parse_duration(value)
    except FaseInputError as exc:
        raise ValueError(exc.problem) from exc
    return value


Duration = Annotated[str, AfterValidator(_readable)]
"""A config field holding a duration such as ``"7d"``, checked when the config loads."""
