"""Published results of the benchmarks that ``fase compare --benchmark`` reproduces the
protocol of, each with the exact place it was read.

Only numbers read in a source that can be opened are listed. The papers' results tables
(HAGEN, AAAI 2022; CrimeForecaster, ECML-PKDD 2020; ST-SHN, IJCAI 2021; STHSL, ICDE
2022) could not be read from here: no repository, README or issue reproduces them, and
the stored copies of the papers stop before the results. What is listed:

* ``hagen-la``: the HAGEN authors' own test scores per month (folders 8–12, the epoch of
  the best validation 0.6·Macro + 0.4·Micro), from their training logs ``HAGEN-code/
  logs/<month>/*/info.log`` in Rafa-zy/HAGEN at commit 3f7ca1dd (deleted by a later
  commit), and their mean over the five months (our arithmetic). These are the
  authors' runs, not the paper's table. No Chicago log exists.
* ``sthsl-nyc``: STHSL's NYC row (MAE and MAPE per category) as the first author posted
  it in LZH-YS1998/STHSL issue #1.

``docs/leaderboard.md`` lists what could not be found.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class PublishedRow:
    """One published result: the model, its metrics (the benchmark's column names, e.g.
    ``macro_f1`` or ``mae_0`` for the first category) and where it was read."""

    benchmark: str
    model: str
    metrics: dict[str, float] = field(default_factory=dict)
    source: str = ""


_HAGEN_LOGS = "Rafa-zy/HAGEN@3f7ca1dd HAGEN-code/logs/{month}/*/info.log (authors' run)"
_HAGEN_LA_MONTHS = {
    "8": (0.54360, 0.61051),
    "9": (0.54033, 0.61255),
    "10": (0.53605, 0.61013),
    "11": (0.54055, 0.61463),
    "12": (0.51990, 0.60773),
}

PUBLISHED: tuple[PublishedRow, ...] = (
    PublishedRow(
        "hagen-la",
        "HAGEN (mean of months 8–12)",
        {
            "macro_f1": sum(m for m, _ in _HAGEN_LA_MONTHS.values()) / 5,
            "micro_f1": sum(u for _, u in _HAGEN_LA_MONTHS.values()) / 5,
        },
        _HAGEN_LOGS.format(month="8..12") + "; mean over the months is ours",
    ),
    *(
        PublishedRow(
            "hagen-la",
            f"HAGEN (month {month})",
            {"macro_f1": macro, "micro_f1": micro},
            _HAGEN_LOGS.format(month=month),
        )
        for month, (macro, micro) in _HAGEN_LA_MONTHS.items()
    ),
    PublishedRow(
        "sthsl-nyc",
        "STHSL",
        {
            "mae_0": 0.7329,
            "mae_1": 1.0316,
            "mae_2": 0.7912,
            "mae_3": 0.8484,
            "mape_0": 0.4788,
            "mape_1": 0.5040,
            "mape_2": 0.4595,
            "mape_3": 0.5029,
        },
        "LZH-YS1998/STHSL issue #1 (first author's comment): Burglary, Larceny, Robbery, Assault",
    ),
)


def published_rows(benchmark: str) -> pd.DataFrame:
    """The published rows of ``benchmark`` as leaderboard rows (``source`` filled; no
    overall MAE/MAPE where the source gives only categories)."""
    rows = [
        {"model": row.model, "family": "published", **row.metrics, "source": row.source}
        for row in PUBLISHED
        if row.benchmark == benchmark
    ]
    return pd.DataFrame(rows)
