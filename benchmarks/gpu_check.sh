#!/usr/bin/env bash
# One-command GPU check of issue #17, sized for about 5 minutes of a lent GPU:
#   1. the GPU tests (the captured retraining step against the eager one, a paper-mode
#      simulation captured against eager, batched retraining on the GPU, `fase simulate
#      --device cuda`, the model split across devices), skip-guarded elsewhere;
#   2. the simulation benchmark on the GPU (step eager and captured, sgemm floor, batched
#      copies, K sims, paper cycles and the 6 x 50 simulation, extrapolated and measured,
#      the rolling study lockstep against one after another, 5 replicates);
#   3. `fase run --device cuda --epochs 5` (the default preset on the embedded Chicago
#      data: a 5-epoch training, the simulation, its own policy study, the report), then
#      the default policy study with 4 policies x 5 replicates on that run, timed (the
#      issue's target: 2 minutes on an H200).
# Stops at once, with one line, where torch sees no GPU.
# Run:  benchmarks/gpu_check.sh   (PYTHON=… to pick the interpreter; default .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1

"$PYTHON" - <<'PY'
import sys

import torch

if not torch.cuda.is_available():
    sys.exit(f"gpu_check: torch {torch.__version__} sees no GPU; run this on a machine with one")
print(f"gpu_check: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
PY

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fase() { "$PYTHON" -c 'from fase.cli import main; main()' "$@"; }
phase() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

phase "GPU tests"
"$PYTHON" -m pytest -q -p no:cacheprovider -k "gpu or cuda" \
    tests/training/test_captured.py tests/simulation/test_captured.py \
    tests/simulation/test_batched.py \
    tests/training/test_replicates.py tests/cli/test_simulate.py tests/models/test_split.py \
    tests/serve/test_serve_units.py

phase "simulation benchmark"
"$PYTHON" benchmarks/bench_simulation.py --device cuda --threads 4 --replicates 5

phase "fase run --device cuda --epochs 5"
fase run --device cuda --epochs 5 --out "$work/run"

phase "the default policy study, 4 policies x 5 replicates, on the GPU"
time fase simulate "$work/run" --study --floor-share 0 --replicates 5 --device cuda

phase "done"
