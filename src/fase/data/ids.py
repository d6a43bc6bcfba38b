"""Area identifiers: one canonical string form shared by polygons and tables."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

_INTEGER = re.compile(r"^[+-]?\d+$")


def id_string(value: Any) -> str:
    """``1.0`` → ``"1"``; other values as their string, stripped (nothing is zero-padded)."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def natural_key(area_id: str) -> tuple[int, int, str]:
    """Numeric order when the id is an integer literal; integer ids sort before others."""
    if _INTEGER.match(area_id):
        return (0, int(area_id), area_id)
    return (1, 0, area_id)


def normalize_ids(values: pd.Series) -> pd.Series:
    """:func:`id_string` of every value; missing or blank values become ``pd.NA``."""
    strings = values.map(lambda v: pd.NA if pd.isna(v) else id_string(v))
    return strings.mask(strings == "").astype("string")
