"""One name, one sign convention, one definition for every metric a report or a
leaderboard shows (rendered as the report's Glossary section; ``docs/glossary.md``
is the same list)."""

from __future__ import annotations

import pandas as pd

from fase.report.html import Section, table_html

GLOSSARY: tuple[tuple[str, str], ...] = (
    (
        "DIR",
        "Demographic Impact Ratio p̄_min / p̄_maj: mean patrol units per minority area over "
        "mean per majority area, per bin. 1 = parity; the allocation keeps |DIR − 1| ≤ ε. NaN "
        "where p̄_maj = 0 (undefined, never smoothed).",
    ),
    (
        "detection rate D_g",
        "Share of a group's incidents that are recorded: Σ d(p_v)·y_v / Σ y_v "
        "over the group's areas, with d the detection probability of a patrol level.",
    ),
    (
        "detection gap",
        "D_min − D_maj, in every table and figure: negative when minority areas "
        "have a lower share of their incidents recorded.",
    ),
    ("Gini", "Inequality of one bin's patrol units across areas (0: equal; 1: all in one area)."),
    (
        "coverage",
        "The reference code's risk-weighted coverage μᵀp / (B·max μ): the share of "
        "the best achievable linear objective.",
    ),
    (
        "risk share",
        "The paper's wording of coverage: the share of predicted risk in the areas "
        "that receive any patrol.",
    ),
    (
        "NLL",
        "Mean negative log-likelihood per area-bin of the observed count under the "
        "forecast (nats; lower is better); models trained with squared error are scored with a "
        "Poisson around their mean.",
    ),
    (
        "MAE, RMSE",
        "Mean absolute and root-mean-square error of the expected count per area-bin (incidents).",
    ),
    (
        "PAI at 10 %",
        "Predictive accuracy index: share of test incidents in the 10 % of areas "
        "with the highest forecast, divided by 10 % (1 = no better than chance).",
    ),
    ("risk level", "1 = no incident; 2–5 = quartile bins of the positive training counts."),
    ("level NLL", "Mean −log P(observed level) under the forecast's level probabilities."),
    (
        "Macro-F1, Micro-F1",
        "F1 of the predicted risk levels averaged over levels (Macro) or "
        "pooled over cells (Micro, = accuracy).",
    ),
    (
        "DP difference",
        "Demographic parity difference: largest minus smallest share of cells "
        "flagged high risk (level ≥ 4) across groups.",
    ),
    (
        "EO difference",
        "Equalized odds difference: the larger of the groups' spreads in "
        "true-positive and in false-positive rate of the high-risk flag.",
    ),
    ("MAE ratio", "Error parity: the smaller group MAE over the larger (1 = parity)."),
)


def glossary_table() -> pd.DataFrame:
    """The glossary as a two-column table."""
    return pd.DataFrame(GLOSSARY, columns=["term", "definition"])


def glossary_section() -> Section:
    """The report's Glossary section."""
    return Section("glossary", "Glossary", [table_html(glossary_table(), title="Glossary")])
