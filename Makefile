# The two commands a newcomer runs: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
N ?= 2

.PHONY: run test setup frontend services lint typecheck fmt bench cluster cluster-down clean soak

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

setup: $(VENV)/.installed frontend

frontend:
	@$(MAKE) -s -C frontend build

run: setup
	@mkdir -p var
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py ensure_demo_user
	@echo ""
	@echo "  Inkroom is running: open http://127.0.0.1:$(PORT)/  (demo / demo-inkroom)"
	@echo ""
	DEBUG=1 PORT=$(PORT) $(PY) -m realtime.server.serve

services:
	@scripts/ensure-services.sh

test: setup services
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	DEBUG=1 $(PY) -m mypy
	@# The whole suite runs in two lanes at once (scripts/test-lanes.sh); PYTEST_ARGS runs one pytest.
	@if [ -n "$(PYTEST_ARGS)" ]; then \
	  $(PY) -m pytest $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc; \
	else scripts/test-lanes.sh $(PY); fi

# The deterministic simulation (tests/sim) over more seeds than `make test` runs (2,000).
SEEDS ?= 20000
soak: setup
	$(PY) -m tests.sim --seeds 0-$$(($(SEEDS) - 1)) --workers $$(nproc)

lint:
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# The django-stubs plugin imports settings; DEBUG=1 lets them load without a SECRET_KEY.
typecheck:
	DEBUG=1 $(PY) -m mypy

fmt:
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: setup services
	$(PY) -m bench all

# Inkroom beside Hocuspocus, tldraw sync, a Socket.IO relay and the reference servers, in one
# run (docs/performance.md, "Peers, side by side"): A, B, C, D with 5-s runs, about ten minutes.
# PEERS_ARGS=--full for 20-s runs; PEERS_ARGS=--sweeps adds the saturation sweeps (long).
.PHONY: bench-peers
bench-peers: setup services bench/peers/node_modules/.package-lock.json
	$(PY) -m bench.peers $(PEERS_ARGS)

# The peers' pinned packages (bench/peers/package-lock.json); better-sqlite3 compiles (~2 min).
bench/peers/node_modules/.package-lock.json: bench/peers/package-lock.json bench/peers/package.json
	cd bench/peers && npm ci --no-audit --no-fund

cluster: setup services
	scripts/cluster.sh up $(N)

cluster-down:
	scripts/cluster.sh down

clean:
	rm -rf $(VENV) var staticfiles frontend/node_modules test-artifacts
