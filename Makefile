# Two commands on a fresh machine: `make demo` and `make test`.
# Both create .venv, install edgeopt with every dependency, then run.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.edgeopt-installed

.PHONY: demo test setup lint typecheck lock bench-orlib clean

# Dependencies come from requirements.lock (exact versions); edgeopt itself is installed
# on top without touching them. 'make lock' refreshes the lock from pyproject.toml.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/edgeopt demo

test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check edgeopt tests
	$(BIN)/ruff format --check edgeopt tests

typecheck: $(STAMP)
	$(BIN)/mypy

lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet '.[all]' wheel
	{ echo "# Exact versions 'make' installs (Python 3.11, Linux x86_64). Refresh with 'make lock'."; \
	  .lock-venv/bin/python -m pip freeze --all | grep -v -e '^edgeopt' -e '^pip=='; } > requirements.lock
	rm -rf .lock-venv

bench-orlib: $(STAMP)
	$(BIN)/edgeopt bench orlib

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache
