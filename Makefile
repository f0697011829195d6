# One command each: `make demo` runs the portal, `make test` runs every check.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed

# The test suite talks to real PostgreSQL and Redis: DATABASE_URL and REDIS_URL, or their
# standard local addresses; without DATABASE_URL and with no PostgreSQL answering there, a
# PostgreSQL of our own for the run (scripts/test_services.py says which it used).
WITH_SERVICES := $(BIN)/python -m scripts.test_services

.PHONY: demo test lint typecheck unit services browser lock clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $@ $(RUNTIME_STAMP)

## demo: install, start an embedded PostgreSQL, migrate, start web + worker + beat + simulator;
## Ctrl-C stops all
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
	@$(WITH_SERVICES) true

lint: $(DEV_STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(DEV_STAMP)
	DJANGO_DEBUG=true $(BIN)/mypy .

unit: $(DEV_STAMP)
	$(WITH_SERVICES) $(BIN)/pytest

## bench: the black-box benchmarks (ingest, then the 10,000-event burst), each printing its
## figures and its ratios to a baseline of the same run; the burst alone took 14 minutes on
## 2 cores shared with other work (BURST="--channels 400" makes it a fifth of the size).
## PostgreSQL and Redis at BENCH_DATABASE_URL and BENCH_REDIS_URL (bench/ingest.py,
## bench/burst.py)
BURST ?=
bench: $(DEV_STAMP)
	@command -v wrk >/dev/null || (echo "Installing wrk for the benchmarks (apt)..." && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.burst $(BURST)

## lock: pin every dependency of requirements*.in into requirements*.txt
COMPILE := $(BIN)/pip-compile --quiet --strip-extras --annotation-style=line \
	--no-emit-index-url --no-emit-find-links --allow-unsafe
lock: $(DEV_STAMP)
	$(COMPILE) requirements.in -o requirements.txt
	$(COMPILE) requirements-dev.in -o requirements-dev.txt

clean:
	rm -rf $(VENV) var staticfiles .mypy_cache .pytest_cache .ruff_cache
