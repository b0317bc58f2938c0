# One command per habit. `make run` and `make test` set up .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup run test test-fast lint format ingest eval bench screenshot

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

run: setup
	$(PY) app.py

test: setup
	$(PY) -m pytest -q

# The tests under a second each (no child processes, servers or browser): about a minute.
test-fast: setup
	$(PY) -m pytest -q -m "not slow"

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

ingest: setup
	$(PY) -m rag ingest

eval: setup
	$(PY) -m eval run --out reports/seed

bench: setup
	$(PY) -m eval bench --out reports/bench

# Updates docs/screenshot.png (and docs/screenshot-phone.png) from the browser test; `make test`
# writes its screenshots to a temporary folder and leaves the checkout clean.
screenshot: setup
	RAG_SCREENSHOT_DIR=docs $(PY) -m pytest -q tests/test_browser.py
