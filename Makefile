# Two commands on a fresh machine with Python 3.11+ and make: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8501
PYTEST_ARGS ?=
# pytest-xdist workers for `make test` (0 runs serially); browser tests keep to one of them.
TEST_WORKERS ?= 2

.PHONY: run test lint typecheck test-sqlite migrate admin install install-dev clean

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
		|| { echo "Python 3.11 or newer is required (set PYTHON=/path/to/python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-run: requirements.txt | $(VENV)/bin/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run
install-dev: $(VENV)/.installed-dev

## Set up, migrate and run every process (web on $(HOST):$(PORT), emulator, ...).
run: install
	$(BIN)/python manage.py run --host $(HOST) --port $(PORT)

migrate: install
	$(BIN)/python manage.py migrate

## Make an existing account an admin: make admin EMAIL=someone@example.com
admin: install
	@test -n "$(EMAIL)" || { echo "usage: make admin EMAIL=someone@example.com"; exit 1; }
	$(BIN)/python manage.py promote "$(EMAIL)"

## Set up, then lint, type-check and run every test.
test: install-dev lint typecheck
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy .

## The SQL tests again on SQLite (CI runs `make test` on PostgreSQL first).
test-sqlite: install-dev
	env -u DATABASE_URL $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup -m sql $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
