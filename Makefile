# The few commands people run. `make start` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-16)
# A laptop over plain HTTP: the development SECRET_KEY, no HTTPS redirect, HSTS or Secure cookies
# (kernel_site/settings_security.py). Unset, the kernel starts in production mode.
export SKILL_KERNEL_ENV ?= development

.PHONY: start setup serve test test-fast lint bench clean

$(STAMP): pyproject.toml
	@echo "Installing the Python dependencies into $(VENV) ..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --upgrade pip
	@$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)
	@$(BIN)/python manage.py collectstatic --noinput -v 0
	@$(BIN)/python manage.py quickstart --url http://$(HOST):$(PORT) $(QUICKSTART_FLAGS)

## Set up everything (venv, database, admin user + token, example skills) and start the kernel.
start: setup serve
start: QUICKSTART_FLAGS = --no-summary  # serve prints the block once ready

## Serve; once ready, repeats the block of `quickstart` (URL, login, token, a curl): kernel_site/gunicorn_conf.py
serve: $(STAMP)
	@$(BIN)/gunicorn kernel_site.wsgi --config python:kernel_site.gunicorn_conf --bind $(HOST):$(PORT) \
		--worker-class gthread --workers 1 --threads $${WEB_THREADS:-32} --timeout 0 --access-logfile -

## Install what the tests need (system services, browser, Python packages) and run the whole suite.
test:
	bash .ci/install-system-packages
	$(MAKE) $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check runtime skills catalogue kernel_site tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/run_latency.py

clean:
	rm -rf $(VENV) var
