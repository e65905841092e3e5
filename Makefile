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

.PHONY: kueue
kueue: ## Build Kueue once (cached; its tests build it on first use anyway).
	@bash deploy/kueue/build.sh >/dev/null

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
lint: install ## ruff, mypy and import-linter (the layers in pyproject.toml).
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

.PHONY: format
format: install ## Format the code.
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

.PHONY: unit
unit: install ## Unit tests only (no cluster).
	$(BIN)/pytest -m "not integration" $(PYTEST_ARGS)

.PHONY: test
test: install system-deps images-deps controlplane tools ## The whole suite: lint, chart checks, unit, integration and end-to-end tests.
	$(MAKE) lint
	$(BIN)/pytest $(PYTEST_ARGS)

# --- Packaging: Helm chart, rendered manifests, images, alert rules, kind ---
HELM = $(shell bash deploy/tools/helm.sh)
KIND_CLUSTER := longtask
IMAGE_TAG ?= dev
IMAGES := operator gateway runner

.PHONY: tools
tools: install ## Build or install helm, promtool, axe-core (npm), hadolint and kubernetes-validate when missing.
	@bash deploy/tools/helm.sh >/dev/null
	@bash deploy/tools/promtool.sh >/dev/null
	@bash deploy/tools/axe.sh >/dev/null

.PHONY: chart-check
chart-check: tools ## Chart, manifests, Dockerfiles and alert rules: every check that needs no cluster.
	$(BIN)/pytest tests/unit/packaging $(PYTEST_ARGS)

.PHONY: manifests
manifests: tools ## Generate the schedule CRD, sync the chart's copies (CRDs, rules, dashboard), render deploy/manifests/.
	@PYTHON=$(BIN)/python bash deploy/tools/manifests.sh

.PHONY: kind-up
kind-up: ## Create the kind cluster (needs Docker).
	@kind=$$(bash deploy/tools/kind.sh); \
	$$kind get clusters | grep -qx $(KIND_CLUSTER) || $$kind create cluster --config deploy/kind/cluster.yaml

.PHONY: kind-load
kind-load: ## Build the operator, gateway and runner images and load them into kind (needs Docker).
	@for image in $(IMAGES); do \
	  docker build -f deploy/docker/$$image.Dockerfile -t longtask/longtask-$$image:$(IMAGE_TAG) . || exit 1; \
	done
	@kind=$$(bash deploy/tools/kind.sh); for image in $(IMAGES); do \
	  $$kind load docker-image --name $(KIND_CLUSTER) longtask/longtask-$$image:$(IMAGE_TAG) || exit 1; \
	done

.PHONY: kind-install
kind-install: tools ## Install the chart on the kind cluster with deploy/kind/values.yaml.
	$(HELM) upgrade --install longtask charts/longtask --kube-context kind-$(KIND_CLUSTER) \
	  --namespace longtask --create-namespace -f deploy/kind/values.yaml \
	  --set operator.image.tag=$(IMAGE_TAG),gateway.image.tag=$(IMAGE_TAG),runner.image.tag=$(IMAGE_TAG) \
	  --wait --timeout 5m

.PHONY: kind-e2e
kind-e2e: kind-up kind-load kind-install ## On kind: a task runs to Succeeded and the gateway answers.
	bash deploy/kind/e2e.sh

# --- Images built here with podman, and the local node's container mode ---
.PHONY: images-deps
images-deps: ## Install podman, runc, debootstrap and uidmap when missing (Debian).
	@bash deploy/images/install-deps.sh

.PHONY: images
images: install images-deps ## Build the operator, gateway and runner images with podman (base and wheels cached).
	@bash deploy/images/build.sh

# --- Proof: benchmarks and fault drills ---
BENCH_ARGS ?=

.PHONY: bench
bench: install system-deps controlplane ## The performance targets against their same-run baselines (~21 min); tables in tests/bench/results/.
	PYTHONPATH=. $(BIN)/python -m tests.bench.run $(BENCH_ARGS)

.PHONY: bench-all
bench-all: install system-deps controlplane ## Every benchmark, the capacity ones too (history, queues, scale, outputs; ~65 min).
	PYTHONPATH=. $(BIN)/python -m tests.bench.run --all $(BENCH_ARGS)

.PHONY: bench-quick
bench-quick: install system-deps controlplane ## The benchmarks at small sizes (smoke run); results in tests/bench/results/quick/.
	PYTHONPATH=. $(BIN)/python -m tests.bench.run --quick $(BENCH_ARGS)

.PHONY: drills
drills: install system-deps controlplane ## Fault drills on their own local stack (~4-7 min): kills and outages, nothing lost.
	$(BIN)/pytest tests/drills $(PYTEST_ARGS)
