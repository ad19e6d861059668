# Two entry points: `make run` (the main job) and `make test` (the test suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The CPU build of torch: on the CI machine `pip install torch==2.13.0` takes the wheel on disk.
TORCH  ?= torch==2.13.0

.PHONY: run test test-quick engines install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e .

install-test: $(BIN)/python
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[test]"

run: install
	$(BIN)/vlmselect recommend --task ocr

# The real engines (llama.cpp built from source, vLLM's CPU build in its own venv), cached by
# version outside the checkout: the first run takes ~15-25 min on 2 cores, later ones seconds.
engines:
	PYTHON=$(PYTHON) scripts/setup_engines.sh all

# engines.env says where they are; the engine tests fail (not skip) if they are missing.
test: install-test engines
	$(BIN)/ruff check vlmselect tests scripts benchmarks
	$(BIN)/mypy
	set -a && . "$$(PYTHON=$(PYTHON) scripts/setup_engines.sh env)" && set +a && \
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

# For iteration: everything but the tests marked slow (the engines and tiny-model runs).
test-quick: install-test
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -m "not slow"

clean:
	rm -rf $(VENV) build dist *.egg-info
