# Two entry points, both self-contained on a fresh machine with Python >= 3.10 and pip:
#   make demo   install everything, build the embedded demo data, train + evaluate both models
#   make test   install everything (with dev extras) and run the test suite
PYTHON ?= python3
VENV ?= .venv
# CPU build by default (see README "GPU"): on a machine with a local CPU wheel, torch==2.13.0 resolves to it.
TORCH_SPEC ?= torch==2.13.0
PIP_TORCH_ARGS ?=
BIN := $(VENV)/bin
DEMO_DIR ?= outputs/demo

.PHONY: install demo test lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	@# Keep a torch the user already put in the venv (e.g. a CUDA build); otherwise install TORCH_SPEC.
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet $(PIP_TORCH_ARGS) "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"

demo: install
	$(BIN)/hf-aidetect demo --output-dir $(DEMO_DIR)

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) outputs .pytest_cache .ruff_cache
