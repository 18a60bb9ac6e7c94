# Centralita: `make run` and `make test` set everything up from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# What `make simulate` plays (a variable, not a $(or …) default: make splits those at commas).
FROM ?= +34911222333
SAY ?= Hola, soy Juan Pérez, es urgente, me duele mucho una muela
# `make run` is for trying Centralita: settings come from the environment, then ./.env, then
# examples/dev.env (the example clinic and a development Twilio token). Nothing here overrides .env.
# Production runs `centralita serve` (or the Docker image) with its own environment or .env.
export CENTRALITA_DEFAULTS_FILE := examples/dev.env
# Only a HOST or PORT given on the command line changes the public URL the signatures are made for.
ifneq ($(filter command line,$(origin HOST) $(origin PORT)),)
export CENTRALITA_PUBLIC_URL ?= http://$(HOST):$(PORT)
endif

.PHONY: run test lint bench simulate check clean browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/centralita serve --host $(HOST) --port $(PORT)

simulate: $(STAMP)
	$(BIN)/centralita simulate call --from "$(FROM)" --say "$(SAY)" --url http://$(HOST):$(PORT)

check: $(STAMP)
	$(BIN)/centralita config check

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check bot cards adapters jobs
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile

# The suite waits on loopback stand-ins more than it computes: a few workers keep it well inside
# 15 minutes on two cores (pytest-xdist; every test has its own SQLite file and PostgreSQL schema).
TEST_WORKERS ?= 4

# The email-link test drives a real headless browser: Debian's Chromium and its chromedriver
# (never a browser downloaded by a Python package). Installed when missing; `make test` runs as root
# on a fresh machine, otherwise install them yourself (`sudo apt-get install chromium chromium-driver`).
CHROMIUM := /usr/bin/chromium
CHROMEDRIVER := /usr/bin/chromedriver

browser:
	@if [ ! -x $(CHROMIUM) ] || [ ! -x $(CHROMEDRIVER) ]; then \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver; \
	fi

test: lint browser
	$(BIN)/pytest -q -n $(TEST_WORKERS)

bench: $(STAMP)
	$(BIN)/python -m bench

# Never a database: centralita.db is the clinic's data.
clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
