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

.DEFAULT_GOAL := help
.PHONY: help install demo ingest report test lab app bench clean

help: ## show this help
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'
	@echo "  variables: QUARTER=YYYYQn (default: last complete quarter in the data), SEED=$(SEED)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ needed, found " + sys.version' 
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install the workbench (re-runs when pyproject.toml changes)

demo: $(STAMP) ## write the synthetic demo company to data/raw (only if it holds no CSV)
	@if ls data/raw/*.csv >/dev/null 2>&1; then \
	  echo "data/raw already holds CSV files: keeping them (delete them to regenerate the demo)"; \
	else $(BIN)/workbench demo --seed $(SEED) --out data/raw; fi

ingest: demo ## validate data/raw and write data/processed
	$(BIN)/workbench ingest --raw data/raw --out data/processed

report: ingest ## the quarterly report into reports/<quarter>/ (demo data if data/raw is empty)
	$(BIN)/workbench report $(if $(QUARTER),--quarter $(QUARTER))

test: $(STAMP) ## run the whole test suite
	$(BIN)/python -m pytest

lab: $(STAMP) ## open JupyterLab on the project
	$(BIN)/jupyter lab --port $(PORT) notebooks/

app: $(STAMP) ## the scenario explorer as a web app (Voila, offline map, localhost, token; run `make report` first)
	$(BIN)/voila apps/explorer.ipynb --port=$(APP_PORT) --no-browser --Voila.ip=$(APP_IP) $(if $(filter none,$(APP_TOKEN)),,$(if $(filter auto,$(APP_TOKEN)),--token,--token=$(APP_TOKEN)))

bench: $(STAMP) ## run the benchmarks (prints figures for the README; installs the [bench] extras)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean: ## remove .venv, processed data and generated reports (never data/raw)
	rm -rf $(VENV) data/processed/*.parquet data/processed/*.json data/processed/*.geojson
	find reports -mindepth 1 -maxdepth 1 ! -name params ! -name README.md -exec rm -rf {} +
