# The two commands of the README: `make up` (start the backend) and `make test` (run every test).
# Both install what they need first; nothing has to be set up by hand on a fresh machine.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := python3.11
export PATH := $(HOME)/.local/bin:$(PATH)
RUN := uv run --frozen --no-sync
# `make up` runs the compose stack when a Docker engine answers, else local processes against the
# PostgreSQL and RabbitMQ on localhost. HELPDESK_RUNNER=local or HELPDESK_RUNNER=docker forces one.
HELPDESK_RUNNER ?= auto
USE_DOCKER := { [ "$(HELPDESK_RUNNER)" = docker ] || { [ "$(HELPDESK_RUNNER)" = auto ] && docker info >/dev/null 2>&1; }; }

.PHONY: install install-bench check-servers migrate up up-local up-docker down status test lint typecheck unit bench openapi

install:
	@scripts/ensure-uv
	@uv sync --all-packages --frozen --quiet --inexact

# The benchmarks' peer library too (the `bench` dependency group): for `make bench`, and for
# `make test`, which runs the benchmarks' smoke tests.
install-bench:
	@scripts/ensure-uv
	@uv sync --all-packages --frozen --quiet --inexact --group bench

check-servers: install
	@$(RUN) python -m deploy.local.servers

migrate: check-servers
	@$(RUN) helpdesk-migrate

up:
	@if $(USE_DOCKER); then $(MAKE) --no-print-directory up-docker; \
	else $(MAKE) --no-print-directory up-local; fi

# `make up REPLICAS=2`: every service as 2 replicas behind its one port, and two relays (local
# runner only; the compose stack runs one of each).
REPLICAS ?= 1
up-local: migrate
	@$(RUN) python -m deploy.local.runner up --replicas $(REPLICAS)

up-docker:
	@if [ "$(REPLICAS)" != 1 ]; then echo "REPLICAS is for the local runner (HELPDESK_RUNNER=local): compose runs one of each"; fi
	@scripts/ensure-grafana-password
	docker compose up -d --build --wait
	-docker compose --profile demo run --rm demo
	@echo "intake :8001  ticket :8002  notify :8003  metrics :8004  (each /docs, /openapi.json)"
	@echo "RabbitMQ UI :15672  Mailpit :8025  Prometheus :9090  Grafana :3000; stop: make down"

# The runner's `down` needs only the standard library: it works before any `uv sync`.
down:
	@if [ -x .venv/bin/python ]; then .venv/bin/python -m deploy.local.runner down; \
	else python3 -m deploy.local.runner down; fi
	@if $(USE_DOCKER); then GRAFANA_ADMIN_PASSWORD=$${GRAFANA_ADMIN_PASSWORD:-not-needed-to-stop} docker compose down; fi

status:
	@$(RUN) python -m deploy.local.runner status

# Style, then the architecture's rules: the import contracts of pyproject.toml (layers, service
# independence, pure domains; docs/architecture.md) and every package declaring what it imports.
lint: install-bench
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) lint-imports
	scripts/check-dependencies

typecheck: install-bench
	$(RUN) mypy testkit/src shared/src services/intake/src services/ticket/src services/notify/src services/metrics/src deploy bench

# promtool checks the alert rules (tests/test_prometheus_rules.py): installed by apt when missing.
test: lint typecheck check-servers
	@scripts/ensure-promtool
	$(RUN) pytest $(PYTEST_ARGS)

unit: install
	$(RUN) pytest -m "not slow" -k "unit" $(PYTEST_ARGS)

# Every benchmark in sequence (bench/run.py: 8-11 minutes on 2 cores, quiet), one summary table into
# docs/performance.md and the growth plot beside it.
bench: install-bench migrate
	$(RUN) python -m bench.run
