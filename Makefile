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
# A local development token so that `make run` and `make simulate` sign and check Twilio requests
# the same way; set TWILIO_AUTH_TOKEN to your real one in production.
export TWILIO_AUTH_TOKEN ?= local-dev-token
export CENTRALITA_CONFIG ?= examples/centralita.yaml
export CENTRALITA_PUBLIC_URL ?= http://$(HOST):$(PORT)

.PHONY: run test lint bench simulate clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/centralita serve --host $(HOST) --port $(PORT)

simulate: $(STAMP)
	$(BIN)/centralita simulate call --from "$(FROM)" --say "$(SAY)" --url $(CENTRALITA_PUBLIC_URL)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check bot cards adapters jobs
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench
	$(BIN)/python -m bench.issue10

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache centralita.db*
