# botdesk: `make run` sets everything up and starts the desk and the engine;
# `make test` sets up what the suite needs and runs it.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test setup libs chromium lint format docs bench clean clean-kernels

run: $(STAMP) libs
	$(BIN)/botdesk init
	$(BIN)/botdesk run

test: $(STAMP) libs chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mkdocs build --strict --quiet
	$(BIN)/pytest

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "botdesk needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# LightGBM's wheel (the ML predictor) needs the GNU OpenMP runtime from Debian.
libs:
	@if ! /sbin/ldconfig -p 2>/dev/null | grep -q 'libgomp.so.1'; then \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libgomp1; \
	fi

# Browser tests drive Debian's Chromium; nothing is downloaded at test time.
chromium:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver fonts-dejavu-core; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The manual (docs/) as a site in var/site; --strict turns a broken link into an error.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean: clean-kernels
	rm -rf $(VENV) .pytest_cache .ruff_cache

clean-kernels:  # numba's compiled kernels (docs/development.md)
	find botdesk -path "*/__pycache__/*" \( -name "*.nbi" -o -name "*.nbc" \) -delete
