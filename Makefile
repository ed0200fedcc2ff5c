# Tessera: `make run` sets everything up and serves the demo; `make test` runs the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run run-oidc install setup test lint bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Tessera needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV) \
		|| { echo "Could not create $(VENV) (on Debian/Ubuntu: apt install python3-venv)" >&2; exit 1; }

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# axe-core (package.json, pinned in package-lock.json) for the accessibility browser test, from
# npm. Without npm this only warns: the Python side still installs, and that test fails under
# CI=true (tests/e2e/test_accessibility_browser.py).
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --no-audit --no-fund && touch $@; \
	else \
		echo "npm not found: axe-core is not installed, the accessibility browser test cannot run" \
			"(on Debian/Ubuntu: apt install npm)" >&2; \
	fi

install: $(VENV)/.installed node_modules/.installed

setup: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_ontologies
	TESSERA_BASE_URL=$${TESSERA_BASE_URL:-http://$(HOST):$(PORT)} $(BIN)/python manage.py seed_demo

run: setup
	TESSERA_BASE_URL=$${TESSERA_BASE_URL:-http://$(HOST):$(PORT)} $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The demo with sign-in through an identity provider: oidc-provider-mock on 127.0.0.1:9400 (in the
# background, stopped when this stops), its people's claims set through its API, `chair` linked to
# their identity there, and Tessera wired to it. README "Sign in with an identity provider".
OIDC_PORT ?= 9400
OIDC_URL := http://127.0.0.1:$(OIDC_PORT)
OIDC_ENV := TESSERA_OIDC_ISSUER=$(OIDC_URL) TESSERA_OIDC_CLIENT_ID=tessera-demo \
	TESSERA_OIDC_CLIENT_SECRET=tessera-demo-secret TESSERA_OIDC_NAME="Life Science Login (demo)"
run-oidc: SHELL := /bin/bash
run-oidc: setup
	@set -euo pipefail; mkdir -p var; \
	$(BIN)/python -m oidc_provider_mock --host 127.0.0.1 --port $(OIDC_PORT) --require-nonce \
		--user ada@lifescience-ri.eu --user jonas@lifescience-ri.eu --user chair@lifescience-ri.eu \
		> var/oidc-provider.log 2>&1 & provider=$$!; \
	trap 'kill $$provider 2>/dev/null || true' EXIT INT TERM; \
	for i in $$(seq 100); do \
		$(BIN)/python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
			$(OIDC_URL)/.well-known/openid-configuration 2>/dev/null && break; \
		kill -0 $$provider 2>/dev/null || { echo "oidc-provider-mock did not start: var/oidc-provider.log" >&2; exit 1; }; \
		sleep 0.2; \
	done; \
	$(BIN)/python manage.py seed_oidc_demo --provider $(OIDC_URL); \
	$(OIDC_ENV) $(BIN)/python manage.py identity_link chair chair@lifescience-ri.eu; \
	$(OIDC_ENV) TESSERA_BASE_URL=$${TESSERA_BASE_URL:-http://$(HOST):$(PORT)} \
		$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

bench: install
	@for script in bench/[!_]*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) node_modules db.sqlite3 db.sqlite3-* var
