# One command each: `make demo` runs the portal, `make test` runs every check.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed

# The test suite talks to real services; these are their standard local addresses.
test services unit: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/portal
test services unit: export REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: demo test lint typecheck unit services browser lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $@ $(RUNTIME_STAMP)

## demo: install, migrate an embedded SQLite database, start web + worker; Ctrl-C stops all
demo: $(RUNTIME_STAMP)
	$(BIN)/python scripts/demo.py

## test: lint, type-check and the whole test suite against PostgreSQL and Redis
test: $(DEV_STAMP) services browser lint typecheck unit

# The browser tests drive Debian's Chromium with Playwright (a browser download cannot work
# offline): installed with apt when it is missing, or point CHROMIUM at another build.
export CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || (echo "Installing Chromium for the browser tests (apt)..." && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

services: $(DEV_STAMP)
	@$(BIN)/python -m scripts.check_services

lint: $(DEV_STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(DEV_STAMP)
	DJANGO_DEBUG=true $(BIN)/mypy .

unit: $(DEV_STAMP)
	$(BIN)/pytest

## lock: pin every dependency of requirements*.in into requirements*.txt
COMPILE := $(BIN)/pip-compile --quiet --strip-extras --annotation-style=line \
	--no-emit-index-url --no-emit-find-links --allow-unsafe
lock: $(DEV_STAMP)
	$(COMPILE) requirements.in -o requirements.txt
	$(COMPILE) requirements-dev.in -o requirements-dev.txt

clean:
	rm -rf $(VENV) var staticfiles .mypy_cache .pytest_cache .ruff_cache
