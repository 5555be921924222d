# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# ECharts and the PDF font come from the npm registry, pinned in package-lock.json.
NODE_STAMP := node_modules/.installed

.PHONY: run test test-cluster setup lint types bench clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	mkdir -p static-vendor/vendor
	cp node_modules/echarts/dist/echarts.min.js static-vendor/vendor/echarts.min.js
	touch $(NODE_STAMP)

setup: $(STAMP) $(NODE_STAMP)

# `make run DEBUG=1` serves with Django's debug mode on (off by default).
run: $(STAMP) $(NODE_STAMP)
	$(PY) deploy/local.py run $(if $(filter 1 true yes on,$(DEBUG)),--debug)

# The types are checked before the suite (the layer contracts run inside it:
# tests/test_architecture.py).
test: $(STAMP) $(NODE_STAMP) types
	$(PY) deploy/local.py test $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports --no-logo
	$(MAKE) --no-print-directory types

# mypy with django-stubs ([tool.mypy] in pyproject.toml). The django-stubs plugin imports
# config.settings, which refuses to load without real keys unless DEBUG is on; the check needs
# no database, no secrets and no service, so it runs with DEBUG's development fallbacks.
types: $(STAMP)
	DJANGO_DEBUG=1 $(PY) -m mypy

bench: $(STAMP)
	$(PY) bench/provision.py

clean:
	rm -rf .pgdata .pgdata-test .run .media .citus

# The product on a real Citus cluster (README "Running on Citus"): builds Citus into .citus/
# (cached), starts a coordinator and two workers on loopback, runs tests_cluster/.
test-cluster: $(STAMP) $(NODE_STAMP)
	$(PY) deploy/cluster.py test $(ARGS)
