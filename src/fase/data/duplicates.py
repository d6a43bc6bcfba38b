"""Exact-duplicate incidents across a stream of batches, without keeping the rows.

Two incidents are duplicates when every canonical column is equal (time, lat, lon,
crime type, id and extra columns). A batch of rows is reduced to one 128-bit
fingerprint per row: two 64-bit hashes, each folding the columns' raw bits (the UTC
nanoseconds of the time, the IEEE bits of the coordinates) and keyed SipHash values of
the text columns through the bijective MurmurHash3 finaliser, with its own seed,
multiplier and SipHash key. Equal rows always get equal fingerprints; if the halves
behave as independent random 64-bit values, some two of n different rows share one with
probability about ``n² / 2**129`` (below 1e-23 for 50 M incidents): exact in practice.

:class:`DuplicateFilter` keeps the fingerprints of the distinct rows seen so far,
sorted: 16 bytes per distinct incident, the only part of incident ingestion that grows
with the number of incidents (see ``docs/scale.md``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_U64 = np.uint64
_FMIX = (_U64(0xFF51AFD7ED558CCD), _U64(0xC4CEB9FE1A85EC53))  # MurmurHash3 fmix64
_HALVES = (  # (seed, multiplier, SipHash key) of each 64-bit half
    (_U64(0x243F6A8885A308D3), _U64(0x9E3779B97F4A7C15), "fase-duplicate-a"),
    (_U64(0x13198A2E03707344), _U64(0xC2B2AE3D27D4EB4F), "fase-duplicate-b"),
)


def fingerprints(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The two (R,) uint64 halves of each row's 128-bit fingerprint (module docstring)."""
    halves = []
    for seed, multiplier, key in _HALVES:
        value = np.full(len(frame), seed, dtype=np.uint64)
        for name in frame.columns:
            value = _fmix64(value * multiplier + _column_bits(frame[name], key))
        halves.append(value)
    return halves[0], halves[1]


def _column_bits(column: pd.Series, key: str) -> np.ndarray:
    """(R,) uint64: raw bits of times and floats, a keyed SipHash of anything else."""
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        return pd.DatetimeIndex(column).as_unit("ns").asi8.view(np.uint64)
    if pd.api.types.is_float_dtype(column.dtype):
        return column.to_numpy(dtype=np.float64).view(np.uint64)
    return pd.util.hash_pandas_object(column, index=False, hash_key=key).to_numpy()


def _fmix64(value: np.ndarray) -> np.ndarray:
    value = value ^ (value >> _U64(33))
    value = value * _FMIX[0]
    value = value ^ (value >> _U64(33))
    value = value * _FMIX[1]
    return value ^ (value >> _U64(33))


class DuplicateFilter:
    """Marks the rows of each batch that repeat a row of an earlier batch or an earlier
    row of the same batch (the first occurrence is never marked).

    The fingerprints of the distinct rows are kept in ``BUCKETS`` sorted arrays chosen by
    the top bits of the first half, so merging a batch in copies one bucket at a time
    (a transient 1/64 of the store, not a second copy of it).
    """

    BUCKET_BITS = 6
    BUCKETS = 1 << BUCKET_BITS

    def __init__(self) -> None:
        empty = np.empty(0, dtype=np.uint64)
        self._first = [empty] * self.BUCKETS  # per bucket: sorted first halves
        self._second = [empty] * self.BUCKETS  # their second halves, same order

    @property
    def n_distinct(self) -> int:
        """Distinct rows seen so far."""
        return sum(bucket.size for bucket in self._first)

    def repeats(self, frame: pd.DataFrame) -> np.ndarray:
        """(R,) bool: row repeats an earlier one. Remembers the rows that do not."""
        first, second = fingerprints(frame)
        order = np.lexsort((second, first))  # stable: equal rows stay in batch order
        by_first, by_second = first[order], second[order]
        same = (by_first[1:] == by_first[:-1]) & (by_second[1:] == by_second[:-1])
        repeat = np.zeros(first.size, dtype=bool)
        repeat[order[1:][same]] = True  # all but the first of equal rows in this batch
        top = by_first >> _U64(64 - self.BUCKET_BITS)
        bounds = np.searchsorted(top, np.arange(self.BUCKETS + 1))
        for bucket in range(self.BUCKETS):
            rows = order[bounds[bucket] : bounds[bucket + 1]]
            if rows.size:
                repeat[rows] |= self._seen(bucket, first[rows], second[rows])
                new = rows[~repeat[rows]]  # sorted by first half
                at = np.searchsorted(self._first[bucket], first[new])
                self._first[bucket] = np.insert(self._first[bucket], at, first[new])
                self._second[bucket] = np.insert(self._second[bucket], at, second[new])
        return repeat

    def _seen(self, bucket: int, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Which (first, second) pairs are already in ``bucket``."""
        known_first, known_second = self._first[bucket], self._second[bucket]
        low = np.searchsorted(known_first, first, side="left")
        high = np.searchsorted(known_first, first, side="right")
        seen = np.zeros(first.size, dtype=bool)
        single = np.flatnonzero(high - low == 1)
        seen[single] = known_second[low[single]] == second[single]
        for row in np.flatnonzero(high - low > 1):  # distinct rows sharing a first half: rare
            seen[row] = bool((known_second[low[row] : high[row]] == second[row]).any())
        return seen
