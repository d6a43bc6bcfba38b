"""The study's preprocessing of incident-level tables, fitted on the training rows only.

For a table with numeric and categorical fields (LA's victim age, victim sex, premise …):

* numeric field x: missing values → the training median m; then min–max scaling with the
  training minimum and maximum, x' = (x − min) / (max − min). A field constant in
  training (max = min) maps to 0. Values outside the training range map outside [0, 1]
  (they are not clipped, so a shift between splits stays visible).
* categorical field c: missing values → the training mode (ties: the first value in
  sorted order); then one-hot columns ``"c=v"``, one per value v seen in training
  (after imputation), in sorted order. A value never seen in training gives a row of
  zeros in c's columns (no column is added at transform time).

Every statistic (median, min, max, mode, categories) comes from the frame given to
:meth:`TabularPreprocessor.fit` (the training split); :meth:`~TabularPreprocessor.transform`
applies them unchanged to any split. Output columns: the numeric fields in the order
given, then each categorical field's one-hot columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fase.errors import FaseInputError


@dataclass(frozen=True)
class NumericField:
    """Training statistics of one numeric field: median (imputation), minimum, maximum."""

    median: float
    minimum: float
    maximum: float

    def transform(self, values: pd.Series) -> np.ndarray:
        """(R,) float64: (x − min) / (max − min) after imputing the median; 0 if max = min."""
        filled = values.astype("float64").fillna(self.median).to_numpy()
        span = self.maximum - self.minimum
        if span == 0:
            return np.zeros(filled.shape)
        return (filled - self.minimum) / span


@dataclass(frozen=True)
class CategoricalField:
    """Training mode (imputation) and the categories seen in training (sorted)."""

    mode: str
    categories: tuple[str, ...]

    def transform(self, values: pd.Series) -> np.ndarray:
        """(R, C) float64 one-hot rows; an unseen category gives a row of zeros."""
        filled = values.astype("string").fillna(self.mode)
        codes = pd.Index(self.categories).get_indexer(filled)  # −1: unseen in training
        one_hot = np.zeros((len(codes), len(self.categories)))
        seen = codes >= 0
        one_hot[np.flatnonzero(seen), codes[seen]] = 1.0
        return one_hot


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame.columns:
        raise FaseInputError(name, f"column not found (columns: {list(frame.columns)})")
    return frame[name]


@dataclass(frozen=True)
class TabularPreprocessor:
    """Imputation, min–max scaling and one-hot encoding fitted on training rows.

    Attributes:
        numeric: field name → its training statistics.
        categorical: field name → its training mode and categories.
    """

    numeric: dict[str, NumericField]
    categorical: dict[str, CategoricalField]

    @classmethod
    def fit(
        cls, train: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str]
    ) -> TabularPreprocessor:
        """Learn the statistics of the ``numeric`` and ``categorical`` columns of ``train``.

        Raises:
            FaseInputError: a column is missing, a numeric column is not numeric, or a
                column has no observed value in ``train``.
        """
        numeric_fields = {}
        for name in numeric:
            column = _column(train, name)
            if not pd.api.types.is_numeric_dtype(column):
                raise FaseInputError(name, f"is not numeric (dtype {column.dtype})")
            observed = column.dropna().astype("float64")
            if observed.empty:
                raise FaseInputError(name, "has no observed value in the training rows")
            numeric_fields[name] = NumericField(
                float(observed.median()), float(observed.min()), float(observed.max())
            )
        categorical_fields = {}
        for name in categorical:
            observed = _column(train, name).dropna().astype(str)
            if observed.empty:
                raise FaseInputError(name, "has no observed value in the training rows")
            counts = observed.value_counts()
            mode = min(counts.index[counts == counts.max()])
            categorical_fields[name] = CategoricalField(mode, tuple(sorted(counts.index)))
        return cls(numeric_fields, categorical_fields)

    @property
    def feature_names(self) -> list[str]:
        """Output column names: numeric fields, then ``"field=value"`` one-hot columns."""
        names = list(self.numeric)
        for name, field in self.categorical.items():
            names += [f"{name}={value}" for value in field.categories]
        return names

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The preprocessed table: float64, ``frame``'s index, :attr:`feature_names` columns."""
        blocks = [
            field.transform(_column(frame, name))[:, None] for name, field in self.numeric.items()
        ]
        blocks += [
            field.transform(_column(frame, name)) for name, field in self.categorical.items()
        ]
        values = np.hstack(blocks) if blocks else np.zeros((len(frame), 0))
        return pd.DataFrame(values, index=frame.index, columns=self.feature_names)
