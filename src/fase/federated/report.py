"""The outputs of a federated run (all written atomically into the run directory):

* ``rounds.csv`` — per round 0 … R: ``train_loss`` and ``val_loss`` (Flower's
  example-weighted means over the clients of the model's objective; no training loss at
  round 0, the initial weights) and ``val_loss_client_k`` per client;
* ``clients.csv`` — per client and pooled (``all``): its areas, training area-bins, the
  test NLL and MAE of the final global model (``federated_*``) and of the centralised
  model on the same areas (``centralised_*``), and the gaps federated − centralised;
* ``partition.csv`` — the client of each area; ``global_weights.npz`` — the final global
  weights, the learned parameters by name (loads without pickle);
* ``summary.json`` and ``summary.md`` — settings, the pooled comparison, the per-client
  table, the rounds, and what was shared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from fase.config import FederatedConfig
from fase.forecasters.data import ForecastData
from fase.io import write_json, write_npz, write_text
from fase.rundir import RunDir

if TYPE_CHECKING:
    from fase.federated.flower import FlowerRun

METRICS = ("nll", "mae")


@dataclass(frozen=True)
class FederatedResult:
    """The tables of a federated run: ``rounds.csv``, ``clients.csv`` and ``summary.json``."""

    rounds: pd.DataFrame
    clients: pd.DataFrame
    summary: dict[str, object]


def rounds_table(flower: FlowerRun) -> pd.DataFrame:
    """One row per round: pooled losses, then each client's validation loss."""
    pooled = pd.DataFrame(flower.rounds).rename(
        columns={"train-loss": "train_loss", "val-loss": "val_loss"}
    )
    pooled = pooled.reindex(columns=["round", "train_loss", "val_loss"])
    replies = pd.DataFrame(flower.replies)
    per_client = (
        replies.dropna(subset=["val-loss"])
        .pivot(index="round", columns="client", values="val-loss")
        .rename(columns=lambda k: f"val_loss_client_{int(k)}")
    )
    return pooled.merge(per_client, left_on="round", right_index=True, how="left")


def clients_table(
    flower: FlowerRun,
    groups: list[np.ndarray],
    node_ids: list[str],
    central_errors: dict[str, np.ndarray],
) -> pd.DataFrame:
    """Per client and pooled (``all``): federated vs centralised test NLL and MAE."""
    replies = pd.DataFrame(flower.replies)
    tested = replies.dropna(subset=["test-nll"]).set_index("client")
    trained = replies.dropna(subset=["train-loss"]).drop_duplicates("client").set_index("client")
    rows = []
    for k, areas in enumerate(groups):
        row: dict[str, object] = {
            "client": str(k),
            "areas": len(areas),
            "area_ids": " ".join(node_ids[i] for i in areas),
            "train_area_bins": int(trained.loc[k, "num-examples"]),
        }
        for metric in METRICS:
            federated = float(tested.loc[k, f"test-{metric}"])
            central = float(central_errors[metric][areas].mean())
            row |= {
                f"federated_{metric}": federated,
                f"centralised_{metric}": central,
                f"gap_{metric}": federated - central,
            }
        rows.append(row)
    pooled: dict[str, object] = {
        "client": "all",
        "areas": sum(len(a) for a in groups),
        "area_ids": "",
        "train_area_bins": int(sum(r["train_area_bins"] for r in rows)),  # type: ignore[misc]
    }
    for metric in METRICS:
        federated = float(flower.test[f"test-{metric}"])
        central = float(central_errors[metric].mean())
        pooled |= {
            f"federated_{metric}": federated,
            f"centralised_{metric}": central,
            f"gap_{metric}": federated - central,
        }
    return pd.DataFrame([*rows, pooled])


def shared_bytes(flower: FlowerRun, config: FederatedConfig) -> dict[str, int]:
    """What crossed the wire: weights only. One weights message is every learned
    parameter; per round K go down and K come back for training and K go down for
    evaluation, plus K down for round 0's and K for the final test evaluation."""
    parameters = sum(int(t.numel()) for t in flower.weights.values())
    message = sum(int(t.numel()) * t.element_size() for t in flower.weights.values())
    messages = config.clients * (3 * config.rounds + 2)
    return {
        "parameters": parameters,
        "bytes_per_weights_message": message,
        "weights_messages": messages,
        "weights_bytes_total": messages * message,
    }


def _markdown(
    summary: dict[str, object], clients: pd.DataFrame, rounds: pd.DataFrame, family: str
) -> str:
    s = summary
    pooled = clients.iloc[-1]
    lines = [
        f"# Federated training: {s['model']} over {s['clients']} clients ({s['strategy']})",
        "",
        f"{s['rounds']} rounds × {s['local_epochs']} local epochs"
        + (f", μ = {s['mu']}" if s["strategy"] == "fedprox" else "")
        + f"; centralised: {s['total_epochs']} epochs on all areas; seed {s['seed']}.",
        "",
        "| test, all areas | federated | centralised | gap (fed − central) | gap % |",
        "|---|---|---|---|---|",
    ]
    for metric in METRICS:
        fed, cen = pooled[f"federated_{metric}"], pooled[f"centralised_{metric}"]
        lines.append(
            f"| {metric.upper()} | {fed:.4f} | {cen:.4f} | {fed - cen:+.4f} | "
            f"{100 * (fed - cen) / cen:+.2f} % |"
        )
    lines += ["", "## Per client (test split of its own areas)", ""]
    columns = ["client", "areas", "train_area_bins"] + [
        f"{kind}_{m}" for m in METRICS for kind in ("federated", "centralised", "gap")
    ]
    lines += _table(clients[columns])
    lines += ["", "## Rounds (validation loss: the model's objective)", ""]
    lines += _table(rounds)
    weights = s["shared"]
    assert isinstance(weights, dict)
    lines += [
        "",
        "## What was shared",
        "",
        f"Weights only: {weights['weights_messages']} messages of {weights['parameters']:,} "
        f"parameters ({weights['bytes_per_weights_message']:,} bytes each; "
        f"{weights['weights_bytes_total']:,} bytes in all), plus per reply the client's "
        "id, its number of area-bins and its loss (or test NLL and MAE). No count, "
        "feature or area id left a client.",
    ]
    if family == "graph":
        lines += [
            "",
            "Graph model: each client's graph is its own areas only; edges to other "
            "clients' areas are cut, in training and in its test forecast.",
        ]
    lines += [
        "",
        f"Wall time: federated {s['federated_seconds']:.1f} s ({s['backend']} backend"
        + (", Ray start included" if s["backend"] == "ray" else "")
        + f"), centralised {s['centralised_seconds']:.1f} s.",
    ]
    return "\n".join(lines) + "\n"


def _table(frame: pd.DataFrame) -> list[str]:
    def cell(value: object) -> str:
        if isinstance(value, float | np.floating):
            return "" if np.isnan(value) else f"{value:.4f}"
        return str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * frame.shape[1]]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(False)]
    return lines


def write_outputs(
    out: RunDir,
    *,
    config: FederatedConfig,
    seed: int,
    quick: bool,
    data: ForecastData,
    groups: list[np.ndarray],
    flower: FlowerRun,
    central_errors: dict[str, np.ndarray],
    central_seconds: float,
    family: str,
) -> FederatedResult:
    """Write every output (module docstring) and return the tables."""
    node_ids = list(data.graph.node_ids)
    rounds = rounds_table(flower)
    clients = clients_table(flower, groups, node_ids, central_errors)
    owner = np.empty(len(node_ids), dtype=np.int64)
    for k, areas in enumerate(groups):
        owner[areas] = k
    summary: dict[str, object] = {
        "model": config.model,
        "family": family,
        "strategy": config.strategy,
        "mu": config.proximal_weight,
        "clients": config.clients,
        "rounds": config.rounds,
        "local_epochs": config.local_epochs,
        "total_epochs": config.total_epochs,
        "seed": seed,
        "quick": quick,
        "backend": config.backend,
        "federated": {m: float(clients.iloc[-1][f"federated_{m}"]) for m in METRICS},
        "centralised": {m: float(clients.iloc[-1][f"centralised_{m}"]) for m in METRICS},
        "gap": {m: float(clients.iloc[-1][f"gap_{m}"]) for m in METRICS},
        "shared": shared_bytes(flower, config),
        "federated_seconds": flower.seconds,
        "centralised_seconds": central_seconds,
    }
    write_text(out.federated_rounds, rounds.to_csv(index=False))
    write_text(out.federated_clients, clients.to_csv(index=False))
    write_text(
        out.federated_partition,
        pd.DataFrame({"area": node_ids, "client": owner}).to_csv(index=False),
    )
    write_npz(out.federated_weights, {k: v.numpy() for k, v in flower.weights.items()})
    write_json(out.federated_summary_json, summary)
    write_text(out.federated_summary_md, _markdown(summary, clients, rounds, family))
    return FederatedResult(rounds, clients, summary)
