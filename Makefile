# make demo   OrderWorkflow on a real Celery worker; needs no servers (SQLite + filesystem broker in ./var)
# make test   lint, then the test suite; needs PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# pip install runs again only when pyproject.toml is newer than this stamp.
STAMP := $(VENV)/.installed
LINT_PATHS := $(wildcard durable_workflows tests example_project bench)
PYTEST_ARGS ?=

.PHONY: help venv demo test lint services bench clean

help:
	@echo "make demo    run OrderWorkflow on a real Celery worker (SQLite + filesystem broker in ./var)"
	@echo "make test    lint, then the test suite (needs PostgreSQL and Redis; see README.md)"
	@echo "make lint    ruff check, ruff format --check, mypy (strict) and lint-imports (layer contracts)"
	@echo "make bench   the benchmarks (python -m bench)"
	@echo "make venv    create .venv and install the package with its test extras"
	@echo "make clean   remove .venv, ./var, test-artifacts and caches"

venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: venv
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py demo

lint: venv
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy
	$(BIN)/lint-imports

# The suite's own settings (tests/settings.py) say which servers it will use.
define CHECK_SERVICES
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
from django.conf import settings
import kombu, psycopg
db = settings.DATABASES["default"]
broker = settings.CELERY_BROKER_URL
failed = False
try:
    psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"] or "postgres", password=db["PASSWORD"] or None, dbname="postgres", connect_timeout=3).close()
except Exception as exc:
    failed = True
    print(f"PostgreSQL does not answer at {db['HOST']}:{db['PORT']}: {exc}".strip(), file=sys.stderr)
    print("  Start it (e.g. `sudo pg_ctlcluster <version> main start`, or `docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16`)", file=sys.stderr)
    print("  or set DATABASE_URL=postgres://USER:PASSWORD@HOST:PORT/durable_workflows (a role that may create databases).", file=sys.stderr)
connection = kombu.Connection(broker, connect_timeout=3)
try:
    connection.ensure_connection(max_retries=1)
except Exception as exc:
    failed = True
    print(f"The broker does not answer at {connection.as_uri()}: {exc}", file=sys.stderr)
    print("  Start Redis (e.g. `redis-server --daemonize yes`, or `docker run -d -p 6379:6379 redis:7`)", file=sys.stderr)
    print("  or set CELERY_BROKER_URL=redis://HOST:6379/11.", file=sys.stderr)
if not os.path.exists("/usr/bin/chromium"):
    failed = True
    print("Debian's chromium is missing (the admin's browser tests drive it): sudo apt-get install chromium", file=sys.stderr)
sys.exit(1 if failed else 0)
endef
export CHECK_SERVICES

services: venv
	@$(BIN)/python -c "$$CHECK_SERVICES"

test: lint services
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: venv
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var test-artifacts .pytest_cache .ruff_cache .mypy_cache .import_linter_cache build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
