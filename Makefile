# make run   — set up and start the whole app on the embedded default (SQLite, ORM broker, simulator)
# make test  — set up and run the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
WEB_ADDR ?= 127.0.0.1:8000
# Empty: the simulator listens where ONECLICKDZ_API_URL (environment, .env) points; set, it moves both.
SIM_PORT ?=

.PHONY: run test test-fast bench lint clean chromium

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

.env:
	cp .env.example .env

run: $(VENV)/.installed .env
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py ensure_demo_users
	@echo "Starting the simulator, the background workers, and the app on http://$(WEB_ADDR)/"
	@exec $(PY) scripts/run_stack.py --web $(WEB_ADDR) $(if $(SIM_PORT),--sim-port $(SIM_PORT))

# The browser tests drive Debian's Chromium; install it from the distribution when missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: $(VENV)/.dev-installed chromium
	$(PY) -m pytest

# The inner loop: everything but the browser, real-cluster, chaos and crash tests.
test-fast: $(VENV)/.dev-installed
	$(PY) -m pytest -m "not browser and not cluster and not chaos and not crash and not slow" -q

# Every benchmark of bench/ (client, orders, dashboard, bulk, and the 2-minute load test on
# gunicorn + PostgreSQL + Redis), then bench/RESULTS.md from their bench/out/*.json.
bench: $(VENV)/.dev-installed
	$(PY) bench/run_all.py

lint: $(VENV)/.dev-installed
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) staticfiles db.sqlite3* test-artifacts
