# Two entry points a newcomer needs (see README): `make serve` and `make test`.
# Both build .venv from the lock file first; nothing else has to be installed by hand.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BASE := $(VENV)/.base-installed
FULL := $(VENV)/.full-installed

.PHONY: serve lint test test-fast browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Serving needs only the base install (ONNX Runtime, no TensorFlow), pinned by the lock file.
$(BASE): pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c requirements.lock -e .
	touch $(BASE)

# Tests, training and reports: everything in the lock file.
$(FULL): pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(FULL) $(BASE)

serve: $(BASE)
	$(BIN)/letters serve

# Debian's chromium for the browser tests (Playwright drives it; it never downloads a browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing: browser tests will skip (install Debian's chromium)"; fi; }

# lint (ruff) and the serving boundary (import-linter: reading, words, batch, server never import training) first
lint: $(FULL)
	$(BIN)/ruff check
	$(BIN)/lint-imports

test: lint browser
	$(BIN)/python -m pytest

test-fast: lint
	$(BIN)/python -m pytest -m "not slow and not browser"

clean:
	rm -rf $(VENV) .pytest_cache
