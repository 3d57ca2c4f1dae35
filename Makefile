# ecm: the two commands a newcomer needs are `make demo` and `make test`.
# Everything else here is what those two are built from.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STACK := bash deploy/local/stack.sh
PYTEST_ARGS ?=

# The local stack's addresses (deploy/local/stack.sh reads the same port variables).
export ECM_KAFKA_PORT ?= 9092
export ECM_PG_PORT ?= 5433
export ECM_KAFKA__BOOTSTRAP_SERVERS ?= 127.0.0.1:$(ECM_KAFKA_PORT)
export ECM_DB__DSN ?= postgresql://ecm:ecm@127.0.0.1:$(ECM_PG_PORT)/ecm
export ECM_TEST_DB__DSN ?= postgresql://ecm:ecm@127.0.0.1:$(ECM_PG_PORT)/ecm_test

.PHONY: help install test test-unit lint audit typecheck schemas stack-up stack-down stack-status demo bench bench-quick dashboards clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 18

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed ## create .venv with the service and its dev tools

stack-up: ## install (if needed) and start Kafka, PostgreSQL and Prometheus on loopback
	$(STACK) up

stack-down: ## stop everything stack-up started
	$(STACK) down

stack-status: ## say which local services are up and ready
	$(STACK) status

demo: install stack-up ## run the whole product end to end on a synthetic week (leaves it running)
	bash deploy/local/demo.sh

test: install stack-up ## run every test against the real local stack
	@set +e; $(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; rc=0; fi; exit $$rc

test-unit: install ## run the tests that need no services
	$(PY) -m pytest -m "not kafka and not postgres and not prometheus" $(PYTEST_ARGS)

lint: install ## ruff and mypy
	$(VENV)/bin/ruff check ecm streams tests benchmarks
	$(VENV)/bin/mypy

audit: install ## look up the dependencies' known vulnerabilities (says so if it cannot)
	$(PY) .ci/audit.py

schemas: install ## regenerate schemas/ from the contract models
	$(VENV)/bin/ecm schemas export

dashboards: install ## regenerate deploy/grafana/dashboards/*.json from the KPI layer's SQL
	$(PY) -m ecm.kpi.grafana deploy/grafana/dashboards

bench: install stack-up ## run every benchmark; write benchmarks/RESULTS.md and results.json
	$(PY) benchmarks/run_all.py

bench-quick: install stack-up ## the same benchmarks at a tenth of the size, in a few minutes
	$(PY) benchmarks/run_all.py --quick

clean: ## remove the virtualenv and caches (not the stack's state)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
