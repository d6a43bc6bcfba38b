# Two entry points: `make run` (main job on the embedded data) and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# torch is installed first and on its own: any version other than 2.13.0 pulls a multi-GB CUDA build.
# Everything else, Flower (the `federated` extra) included, is resolved together against
# requirements-lock.txt, so `pip check` is clean.
TORCH  := torch==2.13.0

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml requirements-lock.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -c requirements-lock.txt -e ".[dev,federated]"
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/fase run

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_data.py

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
