# Salescope front door. `make demo` and `make test` do every set-up step themselves on a machine
# that has python3 and the package registries.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8501

.PHONY: install demo run serve ui test test-fast lint lock bench docs clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## the demo: generate demo data, run the whole graph, publish, then serve the dashboard
demo: install
	$(BIN)/salescope run
	$(BIN)/salescope serve --port $(PORT)

run: install
	$(BIN)/salescope run

serve: install
	$(BIN)/salescope serve --port $(PORT)

ui: install
	$(BIN)/salescope ui

## every test: ruff, then pytest (unit, dbt, end-to-end, dashboard) on two workers, one test file each
## (the longest files first: tests/conftest.py)
## mypy and sqlfluff are `make lint` (CI runs it before `make test`; pre-commit runs them on each commit)
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n 2 --dist loadfile

## the quick loop: every test that builds no pipeline (tests using a pipeline home are marked slow)
test-fast: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n 2 --dist loadfile -m "not slow" -q

## the checks pre-commit runs (.pre-commit-config.yaml), on every file: ruff (lint and format), mypy on the
## typed packages (pyproject.toml [tool.mypy]), sqlfluff on the dbt models and tests (.sqlfluff; dbt templater
## on an in-memory profile, so no `salescope prepare` and no warehouse is needed)
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/sqlfluff lint dbt_project --processes 0

## refresh the lock after changing dependencies in pyproject.toml
lock:
	$(BIN)/pip-compile --quiet --allow-unsafe --extra dev --extra spark --strip-extras --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml

bench: install
	$(BIN)/python bench/run_bench.py

docs: install
	$(BIN)/salescope prepare
	cd dbt_project && ../$(BIN)/dbt docs generate --profiles-dir ../.salescope/dbt --target-path ../.salescope/dbt/docs-target

clean:
	rm -rf .salescope dbt_project/target
