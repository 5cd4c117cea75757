# Territory Planning Workbench — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
QUARTER ?=
SEED ?= 7
PORT ?= 8888
APP_PORT ?= 8866
APP_IP ?= 127.0.0.1
APP_TOKEN ?= auto

CONSTRAINTS := constraints.txt
PIP := $(BIN)/python -m pip install --quiet -c $(CONSTRAINTS)

.DEFAULT_GOAL := help
.PHONY: help install demo ingest report test lint hooks lock lab app bench clean

help: ## show this help
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'
	@echo "  variables: QUARTER=YYYYQn (default: last complete quarter in the data), SEED=$(SEED)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ needed, found " + sys.version'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# every install pins its versions from constraints.txt: same versions, same numbers
$(STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) -e .
	@touch $@

$(STAMP)-test: $(STAMP)
	$(PIP) -e ".[test]"
	@touch $@

$(STAMP)-dev: $(STAMP)-test
	$(PIP) -e ".[dev]"
	@touch $@

install: $(STAMP) ## create .venv and install the workbench (pinned by constraints.txt)

demo: $(STAMP) ## write the synthetic demo company to data/raw (only if it holds no CSV)
	@if ls data/raw/*.csv >/dev/null 2>&1; then \
	  echo "data/raw already holds CSV files: keeping them (delete them to regenerate the demo)"; \
	else $(BIN)/workbench demo --seed $(SEED) --out data/raw; fi

ingest: demo ## validate data/raw and write data/processed
	$(BIN)/workbench ingest --raw data/raw --out data/processed

report: ingest ## the quarterly report into reports/<quarter>/ (demo data if data/raw is empty)
	$(BIN)/workbench report $(if $(QUARTER),--quarter $(QUARTER))

test: $(STAMP)-test ## run the whole test suite (installs the [test] extra)
	$(BIN)/python -m pytest

lint: $(STAMP)-dev ## ruff lint + format check (package, tests, notebooks), mypy, notebooks without outputs
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/nbstripout --verify notebooks/*.ipynb apps/*.ipynb

hooks: $(STAMP)-dev ## install the git pre-commit hooks (ruff, nbstripout, mypy)
	$(BIN)/pre-commit install

lock: ## re-pin constraints.txt from a fresh environment (after changing pyproject.toml)
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip
	.venv-lock/bin/python -m pip install --quiet -e ".[dev]"
	{ sed -n '/^#/p' $(CONSTRAINTS); .venv-lock/bin/python -m pip freeze --exclude-editable \
	  | grep -v '^workbench'; } > $(CONSTRAINTS).tmp && mv $(CONSTRAINTS).tmp $(CONSTRAINTS)
	rm -rf .venv-lock

lab: $(STAMP) ## open JupyterLab on the project
	$(BIN)/jupyter lab --port $(PORT) notebooks/

app: $(STAMP) ## the scenario explorer as a web app (Voila, offline map, localhost, token; run `make report` first)
	$(BIN)/voila apps/explorer.ipynb --port=$(APP_PORT) --no-browser --Voila.ip=$(APP_IP) $(if $(filter none,$(APP_TOKEN)),,$(if $(filter auto,$(APP_TOKEN)),--token,--token=$(APP_TOKEN)))

bench: $(STAMP) ## run the benchmarks (prints figures for the README; installs the [bench] extras)
	$(PIP) -e ".[bench]"
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean: ## remove .venv, processed data and generated reports (never data/raw)
	rm -rf $(VENV) data/processed/*.parquet data/processed/*.json data/processed/*.geojson
	find reports -mindepth 1 -maxdepth 1 ! -name params ! -name README.md -exec rm -rf {} +
