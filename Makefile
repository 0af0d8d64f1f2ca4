# The verbs a newcomer guesses. Each one installs what it needs first (a virtualenv in .venv).
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
WEB := services/web
WEB_INPUTS := $(WEB)/package-lock.json $(WEB)/build-assets.mjs $(wildcard $(WEB)/assets/*)
WEB_STAMP := $(WEB)/static/.built-$(shell cat $(WEB_INPUTS) | cksum | cut -d' ' -f1)

.PHONY: install run stack test test-unit test-integration lint fmt schemas bench compose-check clean

install: $(STAMP) $(WEB_STAMP)

$(STAMP): pyproject.toml
	@python3 -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed")'
	@echo "Installing the project and its tools into $(VENV) ..."
	@test -x $(BIN)/python || python3 -m venv $(VENV)
	@$(BIN)/pip install --quiet --disable-pip-version-check --progress-bar off -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

# GOV.UK Frontend from the npm registry, pinned by package-lock.json's integrity hashes, compiled
# into services/web/static, which the web front serves itself.
$(WEB_STAMP): $(WEB_INPUTS)
	@command -v npm >/dev/null || { echo "Node.js and npm are needed to build the web front's assets"; exit 1; }
	@echo "Building the web front's assets (GOV.UK Frontend) ..."
	@cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error >/dev/null && npm run --silent build
	@rm -f $(WEB)/static/.built-* && touch $(WEB_STAMP)

run: install  ## run the system locally on embedded defaults (Ctrl-C stops it)
	$(BIN)/qa run

stack: install  ## the local stack with embedded PostgreSQL instead of SQLite
	$(BIN)/qa stack up --postgres

test: lint  ## the whole suite: lint, types, schemas, then unit, integration and e2e tests
	$(BIN)/pytest

test-unit: install
	$(BIN)/pytest -m unit

test-integration: install
	$(BIN)/pytest -m integration

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared services tooling
	$(BIN)/qa schemas --check

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

schemas: install
	$(BIN)/qa schemas

# The benchmark (issue 19) on a stack it starts itself: `make bench` is the quick version (under
# 3 minutes; CI runs it through tests/e2e/test_bench.py), `make bench ARGS=--full` the long one
# (about 15 minutes). `ARGS="--out FILE"` also writes the figures to FILE.
bench: install
	$(BIN)/python -m tooling.bench $(ARGS)

# docker-compose.yml as shipped, under podman (as root): images built locally, the stack up, an
# Inadequate audit to its email, Prometheus scraping every service, then down (deploy/README.md).
# CI runs it through tests/e2e/test_compose.py.
compose-check: install
	bash deploy/compose-check.sh

clean:
	rm -rf $(VENV) .qa .mypy_cache .ruff_cache .pytest_cache $(WEB)/node_modules $(WEB)/static
