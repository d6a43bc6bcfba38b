"""Smoke test: ``fase federated --quick`` on the embedded data (4 districts, Flower)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from fase.cli import app


def test_quick_federation_of_the_embedded_city(tmp_path: Path) -> None:
    out = tmp_path / "federated"
    result = CliRunner().invoke(app, ["federated", "--quick", "--out", str(out)])
    assert result.exit_code == 0, result.output

    partition = pd.read_csv(out / "partition.csv")
    assert len(partition) == 77 and partition["client"].nunique() == 4  # every area, 4 districts
    clients = pd.read_csv(out / "clients.csv").set_index("client")
    districts = clients.drop(index="all")
    assert districts["areas"].sum() == 77
    pooled = clients.loc["all"]
    # every area has the same test bins: the pooled error is the area-weighted mean
    weights = districts["areas"].to_numpy(float)
    for column in ("federated_nll", "centralised_nll", "federated_mae"):
        expected = np.average(districts[column].to_numpy(float), weights=weights)
        assert abs(float(pooled[column]) - expected) < 1e-9, column
    gap = float(pooled["federated_nll"]) - float(pooled["centralised_nll"])
    assert abs(float(pooled["gap_nll"]) - gap) < 1e-12
    rounds = pd.read_csv(out / "rounds.csv")
    assert rounds["val_loss"].iloc[-1] < rounds["val_loss"].iloc[0]  # the federation learns
