# schemad developer commands.  `make run` and `make test` work on a fresh
# machine: each sets up what it needs first (venv, server binary).
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# Where `make run` listens: `make run PORT=9090`, or a whole address with
# `make run LISTEN=0.0.0.0:8080` (LISTEN wins over PORT).
PORT    ?= 8080
LISTEN  ?= 127.0.0.1:$(PORT)

.PHONY: setup server-binary tools run test lint bench peer-suite clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# The throwaway MariaDB of the tests and `make run` starts from these binaries
# (never from a server running on the machine).
server-binary:
	@if [ -z "$$SCHEMAD_TEST_DSN" ]; then \
	  HINT="or point the tests at a server with SCHEMAD_TEST_DSN=mysql://user:pass@host:port/" \
	  scripts/ensure-package "throwaway test server" mariadbd mariadb-install-db -- mariadb-server mariadb-client; \
	fi

# pt-online-schema-change (Debian percona-toolkit) for the alter-wrapper tests,
# promtool (Debian prometheus) for the alert-rule tests, systemd-analyze (Debian
# systemd) for the checks of systemd/schemad.service, sshd (Debian openssh-server) for
# the ssh tunnel tests.
tools:
	scripts/ensure-package "alter-wrapper tests" pt-online-schema-change -- percona-toolkit
	scripts/ensure-package "alert-rule tests" promtool -- prometheus
	scripts/ensure-package "systemd unit tests" systemd-analyze -- systemd
	scripts/ensure-package "ssh tunnel tests" sshd ssh-keygen -- openssh-server openssh-client

setup: $(STAMP) server-binary tools

run: setup
	$(BIN)/schemad serve --embedded --listen $(LISTEN)

test: setup
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check schemad tests bench
	$(BIN)/ruff format --check schemad tests bench
	$(BIN)/mypy

bench: setup
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# sqldef's own MySQL test cases through push and diff, on a throwaway MariaDB (issue 12):
# `make peer-suite SQLDEF=DIR`, DIR a checkout of github.com/sqldef/sqldef;
# PEER_ARGS="--json FILE --only REGEX ..." for more (scripts/peer_suite.py --help).
peer-suite: $(STAMP) server-binary
	@if [ -z "$(SQLDEF)" ]; then \
	  echo "usage: make peer-suite SQLDEF=DIR (a checkout of github.com/sqldef/sqldef)" >&2; exit 2; \
	fi
	nice -n 10 $(BIN)/python scripts/peer_suite.py --sqldef $(SQLDEF) $(PEER_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
