# longtask developer entry points. Everything installs itself: `make test` on a fresh machine
# builds the control plane (cached in ~/.cache/longtask), installs Redis and the Python packages.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help
help: ## Show the targets.
	@grep -hE '^[a-z][a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

.PHONY: install
install: $(STAMP) ## Create .venv and install longtask with its development tools.

.PHONY: system-deps
system-deps: ## Install Redis (Debian) when missing.
	@bash deploy/devstack/install-system-deps.sh

.PHONY: controlplane
controlplane: ## Build kube-apiserver, kube-controller-manager and etcd once (cached).
	@bash deploy/controlplane/build.sh >/dev/null

.PHONY: up
up: install system-deps controlplane ## Start the local stack in the background; writes .longtask/env.
	$(BIN)/python -m longtask.devstack.stack up

.PHONY: down
down: ## Stop the local stack and remove its state.
	@test -x $(BIN)/python && $(BIN)/python -m longtask.devstack.stack down || true

.PHONY: run
run: install system-deps controlplane ## The local stack in the foreground with its logs, until Ctrl-C.
	$(BIN)/python -m longtask.devstack.stack run

.PHONY: lint
lint: install ## ruff and mypy.
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

.PHONY: format
format: install ## Format the code.
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

.PHONY: unit
unit: install ## Unit tests only (no cluster).
	$(BIN)/pytest -m "not integration" $(PYTEST_ARGS)

.PHONY: test
test: install system-deps controlplane ## The whole suite: lint, unit, integration and end-to-end tests.
	$(MAKE) lint
	$(BIN)/pytest $(PYTEST_ARGS)
