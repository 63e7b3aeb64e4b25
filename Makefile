# The README's two commands: `make demo` and `make test`. Each sets up everything it
# needs on a fresh machine (system packages, .venv, images), then runs.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck pytest proto images sysdeps setup bench down clean

demo: setup images
	$(VENV)/bin/tug up --fresh
	$(VENV)/bin/tug apply -f examples/

down:
	$(VENV)/bin/tug down

test: setup images lint typecheck pytest

setup: sysdeps $(STAMP)

sysdeps:
	@bash deploy/install-system-deps.sh

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

images: setup
	@bash deploy/images/build.sh

lint: setup
	$(VENV)/bin/ruff check .

typecheck: setup
	$(VENV)/bin/mypy proto client master kubelet proxy cli tests bench

pytest: setup images
	$(PY) -m pytest $(PYTEST_ARGS)

proto: setup
	$(PY) -m proto.generate

bench: setup images
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache .ruff_cache
