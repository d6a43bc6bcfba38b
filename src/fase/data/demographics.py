"""Static demographics per area: minority share, normalised income, poverty rate,
and the fairness groups derived from them.

Definitions (shares in [0, 1]):

* ``pct_minority``: the Black-alone share (the paper's code: B02001_003E / B02001_001E)
  or ``1 − white share`` (``minority_definition: one_minus_white``);
* ``median_income_norm``: min–max normalised income. ``income_scope: table`` (paper)
  takes min and max over every row of the table after mapping suppressed and missing
  values to 0, with denominator ``max(max − min, 1)``; ``nodes`` (default) takes them
  over the study areas with a known income;
* ``poverty_rate``: share below the poverty line.

Group: ``minority`` iff pct_minority ≥ threshold, else ``majority``. Areas without
demographics are ``unknown`` under ``missing_demographics: exclude`` (default: still
forecast and patrolled, but in neither group, and their static features are the mean
of the known areas) or zero-filled and hence ``majority`` under ``zero_fill`` (paper).
A feature with no value for any area (a column not configured, or empty) is a constant 0;
the report names it (``features_without_data``) and Phase 1 warns about it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fase.config import DataMethod, DemographicsSource
from fase.data.ids import normalize_ids
from fase.errors import FaseInputError

STATIC_FEATURES = ("pct_minority", "median_income_norm", "poverty_rate")
GROUP_MINORITY, GROUP_MAJORITY, GROUP_UNKNOWN = "minority", "majority", "unknown"
GROUPS = (GROUP_MINORITY, GROUP_MAJORITY, GROUP_UNKNOWN)


@dataclass(frozen=True)
class Demographics:
    """Per-node demographics in node order.

    Attributes:
        raw: (N, 3) float64 [pct_minority, median_income_norm, poverty_rate]; NaN where unknown.
        static: (N, 3) float64 values used as features, after the missing-data policy.
        missing: (N,) bool, True where the area has no usable demographics.
        groups: (N,) str array of ``minority`` / ``majority`` / ``unknown``.
        report: counts and ids for the dataset table.
    """

    node_ids: list[str]
    raw: np.ndarray
    static: np.ndarray
    missing: np.ndarray
    groups: np.ndarray
    report: dict = field(default_factory=dict)

    @property
    def minority(self) -> np.ndarray:
        """(N,) bool mask of minority areas."""
        return self.groups == GROUP_MINORITY

    @property
    def valid(self) -> np.ndarray:
        """(N,) bool: areas whose demographics may define feature-similarity edges."""
        return ~self.missing


def read_table(source: DemographicsSource, fallback_path: str) -> tuple[pd.DataFrame, Path]:
    """Read the demographics table (CSV, or the attributes of a vector file)."""
    path = Path(source.path or fallback_path)
    if not path.is_file():
        raise FaseInputError(path, "demographics file not found")
    try:
        if path.suffix.lower() in {".csv", ".gz", ".txt"} and ".geojson" not in path.name:
            table = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
        else:
            import pyogrio

            vsi = f"/vsigzip/{path}" if path.suffix == ".gz" else str(path)
            table = pyogrio.read_dataframe(vsi, read_geometry=False)
    except Exception as exc:
        raise FaseInputError(path, f"cannot read the demographics table ({exc})") from exc
    if table.empty:
        raise FaseInputError(path, "the demographics table has no rows")
    table.columns = [str(c).strip() for c in table.columns]
    return table, path


def _column(
    table: pd.DataFrame, name: str, path: Path, field_name: str, codes: tuple[float, ...]
) -> pd.Series:
    if name not in table.columns:
        raise FaseInputError(
            path,
            f"column {name!r} (demographics.{field_name}) not found",
            f"columns present: {', '.join(map(str, table.columns[:30]))}",
        )
    values = pd.to_numeric(table[name], errors="coerce").astype("float64")
    values = values.mask(values.isin(codes))
    bad = values[np.isinf(values) | (values < 0)]
    if len(bad):
        row, value = int(bad.index[0]), float(bad.iloc[0])
        raise FaseInputError(
            path,
            f"column {name!r} (demographics.{field_name}), data row {row + 1}: {value:g} is "
            f"{'negative' if value < 0 else 'not a finite number'}"
            + (f" ({len(bad)} such rows)" if len(bad) > 1 else ""),
            "shares, counts and incomes cannot be negative; leave a value empty if it is "
            "unknown, or list a suppression code in demographics.suppressed_values",
        )
    return values


def _scaled_share(
    table: pd.DataFrame, name: str, path: Path, field_name: str, src: DemographicsSource
) -> pd.Series:
    """A share column divided by ``share_scale``; a share above 1 is refused."""
    share = _column(table, name, path, field_name, src.suppressed_values) / src.share_scale
    above = share[share > 1.0 + 1e-9]
    if len(above):
        row, value = int(above.index[0]), float(above.iloc[0]) * src.share_scale
        raise FaseInputError(
            path,
            f"column {name!r} (demographics.{field_name}), data row {row + 1}: {value:g} is "
            f"a share above 100% with demographics.share_scale {src.share_scale:g}",
            "share_scale is 100 for percentages and 1 for fractions",
        )
    return share


def _share(
    table, path, src: DemographicsSource, share: str | None, count: str | None, what: str
) -> pd.Series:
    codes = src.suppressed_values
    if share:
        return _scaled_share(table, share, path, f"{what}_share", src)
    if count and src.population:
        population = _column(table, src.population, path, "population", codes)
        return _column(table, count, path, f"{what}_count", codes) / population.where(
            population > 0
        )
    raise FaseInputError(
        path, f"no column configured for the {what} share", f"set demographics.{what}_share"
    )


def _minority_share(table, path, src: DemographicsSource, method: DataMethod) -> pd.Series:
    if method.minority_definition == "black_share":
        return _share(table, path, src, src.black_share, src.black_count, "black")
    return 1.0 - _share(table, path, src, src.white_share, src.white_count, "white")


def _poverty(table, path, src: DemographicsSource) -> pd.Series:
    codes = src.suppressed_values
    if src.poverty_share:
        return _scaled_share(table, src.poverty_share, path, "poverty_share", src)
    if src.poverty_count:
        denominator = _column(
            table,
            src.poverty_denominator or src.population or "",
            path,
            "poverty_denominator",
            codes,
        )
        return _column(table, src.poverty_count, path, "poverty_count", codes) / denominator.where(
            denominator > 0
        )
    return pd.Series(np.nan, index=table.index)


def _income(table, path, src: DemographicsSource) -> pd.Series:
    if not src.income:
        return pd.Series(np.nan, index=table.index)
    income = _column(table, src.income, path, "income", src.suppressed_values)
    if src.income_divisor:
        divisor = _column(table, src.income_divisor, path, "income_divisor", src.suppressed_values)
        income = income / divisor.where(divisor > 0)
    return income


def _why_empty(feature: str, source: DemographicsSource) -> str:
    """Why a static feature has no value for any area (for the dataset table)."""
    configured = {
        "pct_minority": source.black_share or source.black_count or source.white_share,
        "median_income_norm": source.income,
        "poverty_rate": source.poverty_share or source.poverty_count,
    }[feature]
    if configured:
        return f"the column {configured!r} has no value for any study area"
    keys = {
        "pct_minority": "demographics.black_share",
        "median_income_norm": "demographics.income",
        "poverty_rate": "demographics.poverty_share",
    }
    return f"no column configured ({keys[feature]})"


def _minmax(values: np.ndarray, lo: float, hi: float, floor_range: float) -> np.ndarray:
    return (values - lo) / max(hi - lo, floor_range)


def load_demographics(
    source: DemographicsSource, node_ids: list[str], method: DataMethod, fallback_path: str
) -> Demographics:
    """Demographics for ``node_ids`` (node order), applying the method's policies.

    Raises:
        FaseInputError: missing file or column, or no table row matching any node.
    """
    table, path = read_table(source, fallback_path)
    if source.id_column not in table.columns:
        raise FaseInputError(
            path,
            f"id column {source.id_column!r} not found",
            f"columns present: {', '.join(map(str, table.columns[:30]))}",
        )
    ids = normalize_ids(table[source.id_column])
    minority = _minority_share(table, path, source, method).clip(0.0, 1.0)
    poverty = _poverty(table, path, source).clip(0.0, 1.0)
    income = _income(table, path, source)

    if method.income_scope == "table":
        filled = income.fillna(0.0).clip(lower=0.0).to_numpy()
        income_norm = pd.Series(_minmax(filled, filled.min(), filled.max(), 1.0), index=table.index)
    else:
        income_norm = income  # normalised over the study nodes below

    frame = pd.DataFrame(
        {
            "pct_minority": minority.to_numpy(),
            "median_income_norm": income_norm.to_numpy(),
            "poverty_rate": poverty.to_numpy(),
        },
        index=ids.to_numpy(),
    )
    frame = frame[~frame.index.isna()]
    frame = frame[~frame.index.duplicated(keep="first")]
    matched = [i for i in node_ids if i in frame.index]
    if not matched:
        raise FaseInputError(
            path,
            f"no row's {source.id_column!r} matches any area id",
            f"area ids look like {node_ids[:3]}, table ids like {list(frame.index[:3])}; "
            "check the id column and its format",
        )
    raw = frame.reindex(node_ids).to_numpy(dtype=np.float64, copy=True)
    if method.income_scope == "nodes":
        known = raw[:, 1][~np.isnan(raw[:, 1])]
        if known.size:
            raw[:, 1] = _minmax(raw[:, 1], known.min(), known.max(), np.finfo(float).tiny)

    if method.missing_demographics == "zero_fill":
        static = np.nan_to_num(raw, nan=0.0)
        missing = np.zeros(len(node_ids), dtype=bool)
        shares = static[:, 0]
    else:
        missing = np.isnan(raw[:, 0])
        known = np.where(missing[:, None], np.nan, raw)
        counts = (~np.isnan(known)).sum(axis=0)
        column_means = np.where(counts > 0, np.nansum(known, axis=0) / np.maximum(counts, 1), 0.0)
        static = np.where(np.isnan(raw), column_means, raw)
        shares = raw[:, 0]
    groups = np.where(shares >= method.minority_threshold, GROUP_MINORITY, GROUP_MAJORITY).astype(
        "<U8"
    )
    groups[missing] = GROUP_UNKNOWN

    empty = {
        feature: _why_empty(feature, source)
        for feature, column in zip(STATIC_FEATURES, raw.T, strict=True)
        if np.isnan(column).all()
    }
    report = {
        "table": str(path),
        "table_rows": len(table),
        "nodes_matched": len(matched),
        "nodes_without_demographics": [
            i for i in node_ids if i not in frame.index or np.isnan(frame.loc[i, "pct_minority"])
        ],
        "missing_policy": method.missing_demographics,
        "minority_definition": method.minority_definition,
        "minority_threshold": method.minority_threshold,
        "groups": {
            g: int((groups == g).sum()) for g in (GROUP_MINORITY, GROUP_MAJORITY, GROUP_UNKNOWN)
        },
        "features_without_data": empty,
    }
    return Demographics(
        node_ids=list(node_ids),
        raw=raw,
        static=static,
        missing=missing,
        groups=groups,
        report=report,
    )
