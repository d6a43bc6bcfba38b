"""Fairness groups of the areas: minority, majority, or neither ("unknown").

The DIR constraint compares the mean patrol of the *minority* areas with that of
the *majority* areas. Areas whose group is unknown (e.g. no demographic data) are
patrolled like any other area but belong to neither side of the constraint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

GROUP_LABELS = ("minority", "majority", "unknown")


@dataclass(frozen=True)
class Groups:
    """Boolean membership masks, both of shape (N,), never overlapping.

    Attributes:
        minority: True for minority areas.
        majority: True for majority areas. Areas in neither mask are "unknown".
    """

    minority: np.ndarray
    majority: np.ndarray

    def __post_init__(self) -> None:
        minority = np.asarray(self.minority, dtype=bool)
        majority = np.asarray(self.majority, dtype=bool)
        if minority.ndim != 1 or minority.shape != majority.shape:
            raise ValueError(
                "group masks must be 1-D of equal length, "
                f"got {minority.shape} and {majority.shape}"
            )
        if np.any(minority & majority):
            raise ValueError("an area cannot be both minority and majority")
        object.__setattr__(self, "minority", minority)
        object.__setattr__(self, "majority", majority)

    @classmethod
    def from_minority(cls, minority: np.ndarray | Sequence[bool]) -> Groups:
        """Every area is minority or majority (no unknown areas), as in the reference code."""
        mask = np.asarray(minority, dtype=bool)
        return cls(minority=mask, majority=~mask)

    @classmethod
    def from_labels(cls, labels: Sequence[str]) -> Groups:
        """From one label per area: ``"minority"``, ``"majority"`` or ``"unknown"``.

        Raises:
            ValueError: for any other label (the caller names the file it came from).
        """
        labels = list(labels)
        bad = sorted({str(x) for x in labels if x not in GROUP_LABELS})
        if bad:
            raise ValueError(f"unknown group label(s) {bad}; expected one of {list(GROUP_LABELS)}")
        array = np.asarray(labels, dtype=object)
        return cls(minority=array == "minority", majority=array == "majority")

    @property
    def n_nodes(self) -> int:
        """N, the number of areas."""
        return int(self.minority.size)

    @property
    def unknown(self) -> np.ndarray:
        """(N,) True for areas in neither group."""
        return ~(self.minority | self.majority)

    @property
    def both_present(self) -> bool:
        """True when both groups are non-empty, i.e. the DIR constraint is defined."""
        return bool(self.minority.any() and self.majority.any())
