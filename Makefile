# schemad developer commands.  `make run` and `make test` work on a fresh
# machine: each sets up what it needs first (venv, server binary).
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: setup server-binary tools run test lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

server-binary:
	@if [ -z "$$SCHEMAD_TEST_DSN" ]; then scripts/ensure-server; fi

# pt-online-schema-change (Debian percona-toolkit) for the alter-wrapper tests,
# promtool (Debian prometheus) for the alert-rule tests.
tools:
	scripts/ensure-tools
	scripts/ensure-promtool

setup: $(STAMP) server-binary tools

run: setup
	$(BIN)/schemad serve --embedded

test: setup
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check schemad tests bench
	$(BIN)/ruff format --check schemad tests bench
	$(BIN)/mypy

bench: setup
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
