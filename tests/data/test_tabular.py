"""Imputation, min–max scaling and one-hot encoding fitted on training rows, by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fase.data.tabular import TabularPreprocessor
from fase.errors import FaseInputError

TRAIN = pd.DataFrame(
    {
        "age": [10.0, np.nan, 30.0, 50.0],  # median 30, min 10, max 50
        "sex": ["F", None, "M", "F"],  # mode F, categories F, M
        "premise": ["street", "home", "home", "street"],  # tie: "home" (sorted first)
    }
)
TEST = pd.DataFrame(
    {"age": [70.0, np.nan, 20.0], "sex": ["X", None, "M"], "premise": [None, "park", "home"]}
)


def fitted() -> TabularPreprocessor:
    return TabularPreprocessor.fit(TRAIN, numeric=["age"], categorical=["sex", "premise"])


def test_training_rows_by_hand() -> None:
    out = fitted().transform(TRAIN)
    assert list(out.columns) == ["age", "sex=F", "sex=M", "premise=home", "premise=street"]
    expected = [
        [0.0, 1, 0, 0, 1],  # age (10 − 10) / 40
        [0.5, 1, 0, 1, 0],  # age imputed 30 → 0.5; sex imputed F
        [0.5, 0, 1, 1, 0],
        [1.0, 1, 0, 0, 1],
    ]
    np.testing.assert_allclose(out.to_numpy(), expected)


def test_other_rows_use_the_training_statistics() -> None:
    out = fitted().transform(TEST)
    expected = [
        [1.5, 0, 0, 1, 0],  # age (70 − 10) / 40, not clipped; sex X unseen → zeros;
        #                     premise missing → mode "home"
        [0.5, 1, 0, 0, 0],  # age imputed 30; sex imputed F; premise "park" unseen → zeros
        [0.25, 0, 1, 1, 0],
    ]
    np.testing.assert_allclose(out.to_numpy(), expected)
    assert list(out.index) == list(TEST.index)


def test_statistics_come_from_the_training_rows_only() -> None:
    model = fitted()
    assert model.numeric["age"].median == 30.0
    assert (model.numeric["age"].minimum, model.numeric["age"].maximum) == (10.0, 50.0)
    assert model.categorical["sex"].categories == ("F", "M")  # X (test only) is not a column
    pooled = TabularPreprocessor.fit(
        pd.concat([TRAIN, TEST]), numeric=["age"], categorical=["sex", "premise"]
    )
    assert pooled.numeric["age"].maximum == 70.0  # fitting on all rows would leak
    assert fitted().transform(TEST)["age"].iloc[0] == pytest.approx(1.5)


def test_constant_numeric_field_maps_to_zero() -> None:
    frame = pd.DataFrame({"x": [3.0, 3.0]})
    out = TabularPreprocessor.fit(frame, ["x"], []).transform(pd.DataFrame({"x": [3.0, 9.0]}))
    np.testing.assert_array_equal(out["x"], [0.0, 0.0])


@pytest.mark.parametrize(
    ("numeric", "categorical", "match"),
    [
        (["missing"], [], "column not found"),
        (["sex"], [], "not numeric"),
        ([], ["empty"], "no observed"),
    ],
)
def test_bad_fields_are_refused(numeric: list[str], categorical: list[str], match: str) -> None:
    frame = TRAIN.assign(empty=[None] * 4)
    with pytest.raises(FaseInputError, match=match):
        TabularPreprocessor.fit(frame, numeric, categorical)
