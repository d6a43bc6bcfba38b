"""Crime categories: the sources' crime descriptions grouped into eight categories.

Every source names its offences differently (Chicago's "Primary Type", Baltimore's
"Description", NYC's "Offense", LA's "Crm Cd Desc"). Per-type count targets use eight
categories, in this order (:data:`CATEGORIES`):

==========  ====================================================================
VIOLENT     homicide, assault, battery, sexual assault and rape, kidnapping,
            non-fatal shooting, stalking, intimidation, threats, trafficking
ROBBERY     robbery and carjacking, any weapon
BURGLARY    burglary of homes, businesses and (LA) vehicles, attempts included
THEFT       larceny, shoplifting, motor-vehicle theft, and fraud (deceptive
            practice, forgery, embezzlement, identity theft)
DAMAGE      criminal damage, vandalism, arson
DRUGS       narcotics and controlled substances
WEAPONS     weapons possession, concealed carry, firearm discharge, brandishing
OTHER       public order (trespass, public peace, liquor, gambling, prostitution,
            interference with officers, court orders), other offences, unknown
==========  ====================================================================

A description is upper-cased and stripped, then looked up in
:data:`CHICAGO_PRIMARY_TYPES` (every Chicago "Primary Type" value, mapped by hand);
otherwise the keyword rules of :data:`KEYWORD_RULES` are tried in order and the first
category with a keyword contained in the description wins; otherwise it is OTHER
(``"UNKNOWN"``, a source without crime types, is OTHER too). The rule order settles
overlaps: robbery before violence ("ROBB HWY FIREARM" is ROBBERY, not WEAPONS);
violence before weapons ("ASSAULT WITH DEADLY WEAPON" is VIOLENT); theft before weapons
(LA's "THEFT-GRAND … EXCPT,GUNS,…" is THEFT).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CATEGORIES: tuple[str, ...] = (
    "VIOLENT",
    "ROBBERY",
    "BURGLARY",
    "THEFT",
    "DAMAGE",
    "DRUGS",
    "WEAPONS",
    "OTHER",
)
OTHER = "OTHER"

CHICAGO_PRIMARY_TYPES: dict[str, str] = {
    "ARSON": "DAMAGE",
    "ASSAULT": "VIOLENT",
    "BATTERY": "VIOLENT",
    "BURGLARY": "BURGLARY",
    "CONCEALED CARRY LICENSE VIOLATION": "WEAPONS",
    "CRIM SEXUAL ASSAULT": "VIOLENT",
    "CRIMINAL DAMAGE": "DAMAGE",
    "CRIMINAL SEXUAL ASSAULT": "VIOLENT",
    "CRIMINAL TRESPASS": "OTHER",
    "DECEPTIVE PRACTICE": "THEFT",
    "DOMESTIC VIOLENCE": "VIOLENT",
    "GAMBLING": "OTHER",
    "HOMICIDE": "VIOLENT",
    "HUMAN TRAFFICKING": "VIOLENT",
    "INTERFERENCE WITH PUBLIC OFFICER": "OTHER",
    "INTIMIDATION": "VIOLENT",
    "KIDNAPPING": "VIOLENT",
    "LIQUOR LAW VIOLATION": "OTHER",
    "MOTOR VEHICLE THEFT": "THEFT",
    "NARCOTICS": "DRUGS",
    "NON - CRIMINAL": "OTHER",
    "NON-CRIMINAL": "OTHER",
    "NON-CRIMINAL (SUBJECT SPECIFIED)": "OTHER",
    "OBSCENITY": "OTHER",
    "OFFENSE INVOLVING CHILDREN": "OTHER",
    "OTHER NARCOTIC VIOLATION": "DRUGS",
    "OTHER OFFENSE": "OTHER",
    "PROSTITUTION": "OTHER",
    "PUBLIC INDECENCY": "OTHER",
    "PUBLIC PEACE VIOLATION": "OTHER",
    "RITUALISM": "OTHER",
    "ROBBERY": "ROBBERY",
    "SEX OFFENSE": "VIOLENT",  # mostly criminal sexual abuse
    "STALKING": "VIOLENT",
    "THEFT": "THEFT",
    "WEAPONS VIOLATION": "WEAPONS",
}
"""Chicago "Primary Type" → category (every value used since 2001, spelling variants included)."""

KEYWORD_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ROBBERY", ("ROBB", "CARJACK")),
    (
        "VIOLENT",
        (
            "HOMICIDE",
            "MURDER",
            "MANSLAUGHTER",
            "ASSAULT",
            "ASSLT",
            "BATTERY",
            "RAPE",
            "SEXUAL",
            "SODOMY",
            "ORAL COPULATION",
            "KIDNAP",
            "SHOOTING",
            "STALKING",
            "INTIMIDATION",
            "THREAT",
            "FALSE IMPRISONMENT",
            "TRAFFICKING",
        ),
    ),
    ("BURGLARY", ("BURG",)),
    (
        "THEFT",
        (
            "THEFT",
            "LARCENY",
            "STOLEN",
            "SHOPLIFT",
            "PICKPOCKET",
            "PURSE SNATCH",
            "EMBEZZLE",
            "FRAUD",
            "FORGERY",
            "BUNCO",
            "DECEPTIVE",
            "COUNTERFEIT",
        ),
    ),
    ("DAMAGE", ("DAMAGE", "VANDALISM", "ARSON", "GRAFFITI")),
    ("DRUGS", ("NARCOTIC", "DRUG", "CONTROLLED SUBSTANCE", "MARIJUANA", "CANNABIS", "COCAINE")),
    ("WEAPONS", ("WEAPON", "FIREARM", "SHOTS FIRED", "CONCEALED CARRY")),
)
"""(category, keywords) in priority order; the first rule with a contained keyword wins."""


def crime_category(description: str) -> str:
    """The category (one of :data:`CATEGORIES`) of one source crime description."""
    text = " ".join(str(description).upper().split())
    if text in CHICAGO_PRIMARY_TYPES:
        return CHICAGO_PRIMARY_TYPES[text]
    for category, keywords in KEYWORD_RULES:
        if any(keyword in text for keyword in keywords):
            return category
    return OTHER


def categorise(descriptions: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Category codes of many descriptions, and the categories that occur.

    Only the categories that occur in ``descriptions`` are kept, in :data:`CATEGORIES`
    order, so a source with four offence types gives no all-zero channels.

    Returns:
        (codes (R,) int64 indices into the names, names).
    """
    unique = pd.unique(descriptions.astype(str))
    category_of = {value: crime_category(value) for value in unique}
    present = set(category_of.values())
    names = [name for name in CATEGORIES if name in present]
    index = {name: i for i, name in enumerate(names)}
    code_of = {value: index[category] for value, category in category_of.items()}
    return descriptions.astype(str).map(code_of).to_numpy(dtype=np.int64), names
