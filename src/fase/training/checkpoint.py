"""Checkpoints and the training log, written atomically.

``checkpoints/last.pt`` (every epoch) holds everything needed to resume to the identical
result: model, optimizer and scheduler states, the progress counters, the minibatch
generator state, the global torch RNG state (dropout draws from it) and the log rows.
``checkpoints/best.pt`` holds the model state of the best validation epoch. Both are
plain dicts of tensors and Python scalars, read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import csv
import io
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from fase.errors import FaseInputError
from fase.io import atomic_path, write_text

LOG_COLUMNS = ("epoch", "train_loss", "val_loss", "lr", "seconds")


@dataclass
class TrainingState:
    """Progress of a fit after ``epoch`` completed epochs (0 before the first).

    ``best_val_loss`` is +inf until a first validation; ``bad_epochs`` counts epochs
    since the last strict improvement; ``stopped`` is set by early stopping; ``log``
    has one row per epoch with the :data:`LOG_COLUMNS`.
    """

    epoch: int = 0
    best_epoch: int = 0
    best_val_loss: float = float("inf")
    bad_epochs: int = 0
    stopped: bool = False
    log: list[dict[str, float]] = field(default_factory=list)


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """``torch.save`` to a temporary file next to ``path``, then ``os.replace`` onto it."""
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint written by :func:`save_checkpoint` (no pickle: ``weights_only``)."""
    path = Path(path)
    if not path.is_file():
        raise FaseInputError(path, "checkpoint not found", "train first with `fase train`")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, ValueError, EOFError, OSError) as exc:
        raise FaseInputError(  # torch's own message suggests weights_only=False: not shown
            path,
            "cannot be read as a checkpoint: truncated, corrupt, or not written by fase "
            f"({type(exc).__name__})",
            "start a new run, or train this one again without --resume",
        ) from None
    if not isinstance(payload, dict):
        raise FaseInputError(path, "is not a fase checkpoint (no mapping of states)")
    return payload


def state_from_payload(payload: dict[str, Any]) -> TrainingState:
    """The :class:`TrainingState` saved under ``"state"`` in ``last.pt``."""
    return TrainingState(**payload["state"])


def write_training_log(path: str | Path, rows: list[dict[str, float]]) -> None:
    """``training_log.csv`` with :data:`LOG_COLUMNS`; floats keep every bit (``repr``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(LOG_COLUMNS)
    for row in rows:
        writer.writerow([int(row["epoch"])] + [repr(float(row[c])) for c in LOG_COLUMNS[1:]])
    write_text(path, buffer.getvalue())
