# The two commands of the README: `make up` (start the backend) and `make test` (run every test).
# Both install what they need first; nothing has to be set up by hand on a fresh machine.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := python3.11
export PATH := $(HOME)/.local/bin:$(PATH)
RUN := uv run --frozen --no-sync

.PHONY: install check-servers migrate up down test lint typecheck unit bench openapi

install:
	@scripts/ensure-uv
	@uv sync --all-packages --frozen --quiet

check-servers: install
	@$(RUN) python -m deploy.local.servers

migrate: check-servers
	@$(RUN) helpdesk-migrate

up: migrate
	@$(RUN) python -m deploy.local.runner up

down:
	@scripts/ensure-uv
	@$(RUN) python -m deploy.local.runner down

lint: install
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: install
	$(RUN) mypy shared/src services/intake/src services/ticket/src services/notify/src services/metrics/src deploy bench

test: lint typecheck check-servers
	$(RUN) pytest $(PYTEST_ARGS)

unit: install
	$(RUN) pytest -m "not slow" -k "unit" $(PYTEST_ARGS)

bench: migrate
	$(RUN) python -m bench.run
