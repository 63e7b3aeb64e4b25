# The README's two commands: `make demo` and `make test`. Each sets up everything it
# needs on a fresh machine (system packages, .venv, images), then runs.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck monitoring-check deploy-check pytest proto images sysdeps setup bench down clean soak fuzz

# `make demo DRIVER=docker` runs the demo on container nodes (kind-style) instead.
DRIVER ?= process
# The demo's web service: the first node's address and the nodePort in examples/web.yaml.
ifeq ($(DRIVER),docker)
DEMO_NODE = $$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' local-worker-0)
else
DEMO_NODE = 127.0.0.2
endif
DEMO_URL = http://$(DEMO_NODE):30080/

demo: setup images
	$(VENV)/bin/tug up --fresh --driver $(DRIVER)
	$(VENV)/bin/tug apply -f examples/
	$(VENV)/bin/tug rollout status deployment/backend --timeout 240
	$(VENV)/bin/tug rollout status deployment/web --timeout 240
	$(VENV)/bin/tug get all -o wide
	@url="$(DEMO_URL)"; case "$$url" in http://:*) echo "error: no node address" >&2; exit 1;; esac; \
	  for i in $$(seq 60); do curl -sf -m 2 -o /dev/null "$$url" && exit 0; sleep 1; done; \
	  echo "error: $$url did not answer within 60 s (see tug describe, the nodes' logs)" >&2; exit 1
	@echo
	@echo "The shop answers on every node's address, port 30080:"
	@echo "  curl $(DEMO_URL)"
	@echo "  curl $(DEMO_URL)cgi-bin/items    # the web tier asks the backend by its DNS name"
	@echo "The cluster keeps running; \`make down\` (or \`.venv/bin/tug down\`) stops it."

down:
	$(VENV)/bin/tug down

test: setup images lint typecheck monitoring-check deploy-check pytest

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
	@bash deploy/node-image/build.sh

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

typecheck: setup
	$(VENV)/bin/mypy proto client master kubelet proxy cli tests bench

# deploy/monitoring: the Prometheus configuration and rules, every alert's unit tests, and
# the compose file, checked by the tools that will read them.
monitoring-check: sysdeps
	promtool check config deploy/monitoring/prometheus.yml
	promtool test rules deploy/monitoring/rules/tests/*.yml
	docker-compose -f deploy/monitoring/compose.yaml config -q

# deploy/: the Vagrant layout (no VM is booted here: no hypervisor) and the shell scripts.
deploy-check: sysdeps
	cd deploy/vagrant && VAGRANT_DOTFILE_PATH=$$(mktemp -d) vagrant validate --ignore-provider
	bash -n deploy/provision/install.sh deploy/provision/configure.sh deploy/node-image/build.sh

pytest: setup images
	$(PY) -m pytest $(PYTEST_ARGS)

# Not part of `make test`: a 3-master, 3-node cluster under load for TUG_SOAK_SECONDS (600).
soak: setup images
	$(PY) -m pytest tests/chaos/soak_cluster.py -s $(PYTEST_ARGS)

# Not part of `make test` (which runs a short pass of it): the fuzz suite, 20,000 draws
# a property, a few minutes.
fuzz: setup
	TUG_FUZZ_PROFILE=fuzz $(PY) -m pytest tests/fuzz --timeout 1800 --hypothesis-show-statistics $(PYTEST_ARGS)

proto: setup
	$(PY) -m proto.generate

bench: setup images
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache .ruff_cache
