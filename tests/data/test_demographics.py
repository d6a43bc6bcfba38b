"""Minority share, income normalisation, poverty and the missing-data policies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.helpers.city import demographics_table

from fase.config import DataMethod, DemographicsSource
from fase.data.demographics import load_demographics
from fase.errors import FaseInputError

NODES = [str(i) for i in range(1, 10)]  # node 9 has no row


@pytest.fixture
def table(tmp_path: Path) -> Path:
    frame = demographics_table()
    frame.loc[len(frame)] = [
        99,
        0.0,
        100.0,
        500_000,
        1.0,
    ]  # a row outside the study (for table scope)
    path = tmp_path / "acs.csv"
    frame.to_csv(path, index=False)
    return path


def source(path: Path, **kw) -> DemographicsSource:
    base = dict(
        path=str(path),
        id_column="area",
        black_share="black_pct",
        white_share="white_pct",
        share_scale=100,
        income="income",
        poverty_share="poverty_pct",
    )
    return DemographicsSource(**{**base, **kw})


def test_default_policy_excludes_missing_and_normalises_over_nodes(table: Path) -> None:
    demo = load_demographics(source(table), NODES, DataMethod(), "")
    np.testing.assert_allclose(demo.raw[:8, 0], [0.8, 0.6, 0.1, 0.5, 0.55, 0.2, 0.3, 0.05])
    assert np.isnan(demo.raw[8]).all()
    # income min-max over the 8 study nodes with data: 20k..110k
    np.testing.assert_allclose(demo.raw[0, 1], 0.0)
    np.testing.assert_allclose(demo.raw[2, 1], (90_000 - 20_000) / 90_000)
    np.testing.assert_allclose(demo.raw[:8, 2], [0.35, 0.25, 0.05, 0.30, 0.28, 0.08, 0.12, 0.03])
    assert list(demo.groups) == [
        "minority",
        "minority",
        "majority",
        "minority",
        "minority",
        "majority",
        "majority",
        "majority",
        "unknown",
    ]  # 0.5 counts (≥)
    assert demo.missing.tolist() == [False] * 8 + [True]
    np.testing.assert_allclose(demo.static[8], demo.raw[:8].mean(axis=0))  # imputed, not zero
    assert demo.report["nodes_without_demographics"] == ["9"]


def test_paper_policy_zero_fills_and_labels_missing_as_majority(table: Path) -> None:
    method = DataMethod(missing_demographics="zero_fill", income_scope="table")
    demo = load_demographics(source(table), NODES, method, "")
    assert demo.groups[8] == "majority" and np.all(demo.static[8] == 0.0)
    # income min-max over every table row (incl. the 500k row outside the study), range floor 1
    np.testing.assert_allclose(demo.static[7, 1], (110_000 - 20_000) / (500_000 - 20_000))


def test_one_minus_white_definition(table: Path) -> None:
    demo = load_demographics(
        source(table), NODES, DataMethod(minority_definition="one_minus_white"), ""
    )
    np.testing.assert_allclose(demo.raw[:8, 0], [0.9, 0.7, 0.2, 0.6, 0.65, 0.3, 0.4, 0.1])
    assert demo.minority.tolist() == [True, True, False, True, True, False, False, False, False]


def test_counts_with_denominators(tmp_path: Path) -> None:
    path = tmp_path / "counts.csv"
    path.write_text("id,pop,black,poor,inc\nA,100,60,10,5\nB,200,20,50,-666666666\n")
    src = DemographicsSource(
        path=str(path),
        id_column="id",
        black_count="black",
        population="pop",
        poverty_count="poor",
        income="inc",
    )
    demo = load_demographics(src, ["A", "B"], DataMethod(), "")
    np.testing.assert_allclose(demo.raw[:, 0], [0.6, 0.1])
    np.testing.assert_allclose(demo.raw[:, 2], [0.1, 0.25])
    assert np.isnan(demo.raw[1, 1])  # Census suppression code → missing


def test_errors_name_the_file_and_field(table: Path) -> None:
    with pytest.raises(FaseInputError, match=r"acs.csv.*'nope'"):
        load_demographics(source(table, id_column="nope"), NODES, DataMethod(), "")
    with pytest.raises(FaseInputError, match=r"acs.csv.*'pct_b'.*black_share"):
        load_demographics(source(table, black_share="pct_b"), NODES, DataMethod(), "")
    with pytest.raises(FaseInputError, match=r"acs.csv.*matches any area id"):
        load_demographics(source(table), ["A", "B"], DataMethod(), "")
