"""Ctrl-C in a real ``fase train`` process: a clear word and status 130, nothing
half-written, and ``fase train --resume`` finishes the run."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from tests.helpers.city import write_city
from tests.simulation.trained_run import TINY, incidents

EPOCHS = 12
LAUNCH = "import sys; from fase.cli import main; sys.argv[0] = 'fase'; main()"


def fase(*args: object, **popen: object) -> subprocess.Popen[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", LAUNCH, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        **popen,  # type: ignore[arg-type]
    )


def test_ctrl_c_during_training_then_resume(tmp_path: Path) -> None:
    city = write_city(tmp_path / "city", incidents(), "2021-03-01", "2021-03-21", tz="UTC")
    config = yaml.safe_load(city.config.read_text())
    config.update(TINY)
    config["training"] = {**TINY["training"], "epochs": EPOCHS}
    config_file = tmp_path / "train.yaml"
    config_file.write_text(yaml.safe_dump(config))
    run_dir = tmp_path / "run"

    training = fase("train", "--config", config_file, "--out", run_dir, "--threads", "1")
    assert training.stdout is not None
    lines = []
    deadline = time.monotonic() + 300
    for line in training.stdout:  # plain progress lines: stdout is a pipe
        lines.append(line)
        if line.startswith("training epoch 2/") or time.monotonic() > deadline:
            break
    training.send_signal(signal.SIGINT)
    rest, _ = training.communicate(timeout=120)
    output = "".join(lines) + rest
    assert training.returncode == 130, output
    assert "interrupted: every file written so far is complete" in output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output
    with open(run_dir / "training_log.csv", newline="") as handle:
        done = len(list(csv.DictReader(handle)))
    assert 2 <= done < EPOCHS  # stopped part-way, its epochs on disk

    resumed = fase("train", "--resume", run_dir, "--threads", "1")
    output, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, output
    with open(run_dir / "training_log.csv", newline="") as handle:
        epochs = [int(row["epoch"]) for row in csv.DictReader(handle)]
    assert epochs == list(range(1, EPOCHS + 1))
    assert (run_dir / "forecast" / "forecast.npz").is_file()
