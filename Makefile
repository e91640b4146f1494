# Two commands on a fresh machine: `make demo` and `make test`.
# Both create .venv, install edgeopt with every dependency, then run.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.edgeopt-installed

.PHONY: demo test setup lint bench-orlib clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/edgeopt demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check edgeopt tests benchmarks

bench-orlib: $(STAMP)
	$(BIN)/edgeopt bench orlib

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache
