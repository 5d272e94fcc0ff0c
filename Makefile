# jumin — run `make help` for the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SSHD := /usr/sbin/sshd
# apt needs root; use sudo only when not root already (CI and the dev container run as root).
# RUNLEVEL=1 keeps the package from starting the system sshd: the tests run their own.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export GX_ANALYTICS_ENABLED := False
export AIRFLOW_HOME := $(CURDIR)/.airflow
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__UNIT_TEST_MODE := False
export PYTHONDONTWRITEBYTECODE := 1

.DEFAULT_GOAL := help
.PHONY: airflow airflow-stop airflow-celery airflow-celery-stop postgres redis moto
.PHONY: help install demo test test-fast lint format typecheck lock lock-check bench sample docs clean sshd chromium

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-19s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c requirements.lock -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install pinned dependencies

demo: $(STAMP) ## Generate sample data and run the DAGs end to end on embedded defaults
	AIRFLOW__LOGGING__LOGGING_LEVEL=WARNING $(BIN)/python -m jumin.apps.demo --workdir $(CURDIR)/.demo

AIRFLOW_PORT ?= 8080
airflow: $(STAMP) ## Airflow servers on 127.0.0.1:8080 (AIRFLOW_PORT=...) over the demo lake and landing; Ctrl-C stops
	$(BIN)/python -m jumin.apps.airflow --home $(AIRFLOW_HOME) --port $(AIRFLOW_PORT)

airflow-stop: ## Stop the servers `make airflow` runs (from another terminal, or when it runs in the background)
	$(BIN)/python -m jumin.apps.airflow stop --home $(AIRFLOW_HOME)

CELERY_HOME ?= $(CURDIR)/.airflow/celery
POSTGRES_PORT ?= 55432
REDIS_PORT ?= 56379
airflow-celery: $(STAMP) postgres redis ## The deployment: PostgreSQL, Redis, CeleryExecutor and two workers on loopback (CELERY_HOME, AIRFLOW_PORT, POSTGRES_PORT, REDIS_PORT); Ctrl-C stops
	$(BIN)/python -m jumin.apps.airflow --profile celery --home $(CELERY_HOME) --port $(AIRFLOW_PORT) \
		--pg-port $(POSTGRES_PORT) --redis-port $(REDIS_PORT)

airflow-celery-stop: ## Stop what `make airflow-celery` runs (components, workers, Redis, PostgreSQL)
	$(BIN)/python -m jumin.apps.airflow stop --home $(CELERY_HOME)

postgres: ## Install PostgreSQL 15 (apt) unless its initdb exists; the production profile runs its own cluster
	@test -x /usr/lib/postgresql/15/bin/initdb || { $(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 \
		apt-get install -y --no-install-recommends postgresql-15 postgresql-client-15; }

redis: ## Install redis-server (apt) unless it exists; the production profile runs its own on loopback
	@command -v redis-server >/dev/null || { $(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 \
		apt-get install -y --no-install-recommends redis-server; }

MOTO := .venv-moto/bin/moto_server
moto: $(MOTO) ## The S3-compatible test server (moto) in its own venv, for the object-store lake tests
$(MOTO): requirements-moto.lock
	test -x .venv-moto/bin/python || $(PYTHON) -m venv .venv-moto
	.venv-moto/bin/pip install -q -r requirements-moto.lock
	touch $(MOTO)

sshd: ## Install openssh-server (apt) unless /usr/sbin/sshd exists; the landing tests run it
	@test -x $(SSHD) || { $(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 \
		apt-get install -y --no-install-recommends openssh-server openssh-client; }

chromium: ## Install Debian's chromium and a Japanese font (apt) unless /usr/bin/chromium exists; the Data Docs test runs it offline
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends chromium fonts-ipafont-gothic; }

test: $(STAMP) sshd chromium postgres redis moto ## Run lint, type checks, the lock check and the test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m jumin.dev.lock check
	$(BIN)/pytest -q

test-fast: $(STAMP) ## Only the unit tier: fast, in-process tests (no sshd, no Airflow, no servers)
	$(BIN)/pytest -q -m unit

lock: ## Regenerate requirements.lock from pyproject.toml in a throwaway venv (keeps versions that still fit)
	$(PYTHON) -m jumin.dev.lock generate $(PYTHON)

lock-check: $(STAMP) ## Check that .venv is exactly requirements.lock and every third-party import is declared
	$(BIN)/python -m jumin.dev.lock check

lint: $(STAMP) ## Ruff (lint and format check) and the import-layer contract
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP) ## Format the code and fix what ruff can
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP) ## mypy on the library, the DAG files and the tests (settings in pyproject.toml)
	$(BIN)/mypy

bench: $(STAMP) moto ## Benchmarks; every figure prints as `BENCH <name> <value> <unit>`
	$(BIN)/python -m jumin.apps.bench

sample: $(STAMP) ## Regenerate the committed sample_data/ (generator sample and bad/ cases)
	rm -rf sample_data/landing sample_data/ground_truth.csv && $(BIN)/python -m jumin.apps.cli generate --out sample_data
	$(BIN)/python -m jumin.dev.badcases sample_data/bad

clean: ## Remove the venv, demo output and Airflow homes (.airflow, the production profile's .airflow/celery)
	rm -rf $(VENV) .venv-moto .demo .airflow .pytest_cache .mypy_cache .ruff_cache

docs: $(STAMP) ## Regenerate docs/ reference pages and expectations/suites/ from the layouts
	$(BIN)/python -m jumin.dev.docs docs
	$(BIN)/python -m expectations.suite
