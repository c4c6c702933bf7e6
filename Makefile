# The two commands: `make run` and `make test`. Everything else is what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 5000
PG_ADMIN_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
MO := $(patsubst %.po,%.mo,$(wildcard app/translations/*/LC_MESSAGES/messages.po))

.PHONY: run serve-prod test test-sqlite test-postgres install lint chromium nginx translations-update \
	bench bench-crm bench-calls bench-analytics

run: install $(MO) widget
	$(BIN)/flask --app app huike init
	HOST=$(HOST) PORT=$(PORT) $(BIN)/python wsgi.py

# The production topology on this machine (docs/deploy.md): nginx on $(PROD_PORT) in front of
# two web workers (ports $(WEB_PORTS)), a job worker and the clock. Needs DATABASE_URL
# (PostgreSQL) and REDIS_URL, as in README's "Running on PostgreSQL + Redis".
PROD_PORT ?= 8000
WEB_PORTS ?= 5001,5002
serve-prod: install $(MO) widget nginx
	HOST=$(HOST) PORT=$(PROD_PORT) WEB_PORTS=$(WEB_PORTS) $(BIN)/python deploy/serve.py

test: install $(MO) widget chromium nginx lint test-widget test-sqlite test-postgres

test-sqlite: install $(MO) widget
	HUIKE_TEST_DB=sqlite $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: install $(MO) widget
	HUIKE_TEST_DB=postgresql PG_ADMIN_URL=$(PG_ADMIN_URL) REDIS_URL=$(TEST_REDIS_URL) \
		$(BIN)/pytest $(PYTEST_ARGS)

install: $(STAMP)

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

%.mo: %.po install
	$(BIN)/pybabel compile -f -i $< -o $@ >/dev/null

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Debian's Chromium drives the browser tests (playwright cannot download its own here).
chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

# Debian's nginx, for serve-prod and its test (tests/test_topology.py). It runs with a
# configuration of its own (deploy/nginx.conf); the package's own service is not used.
nginx:
	@test -x /usr/sbin/nginx || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; }

# The chat load benchmark (tests/bench/chat_load.py, ~10 minutes; not part of make test):
# BENCH_ARGS="--quick" for a small run, "--db postgresql" for PostgreSQL, "--write-docs" to
# rewrite its figures in docs/BENCHMARKS.md.
bench: install $(MO)
	$(BIN)/python -m tests.bench.chat_load $(BENCH_ARGS)

# The CRM benchmark (tests/bench/crm_load.py, ~15 minutes, a ~1.5 GB scratch PostgreSQL database
# dropped at the end; not part of make test): BENCH_ARGS="--quick" for a small run,
# "--write-docs" to rewrite its figures in docs/BENCHMARKS.md.
bench-crm: install $(MO)
	$(BIN)/python -m tests.bench.crm_load $(BENCH_ARGS)

# The calls benchmark (tests/bench/calls_load.py, ~6 minutes, a ~1.3 GB scratch PostgreSQL
# database dropped at the end, Redis db $(BENCH_REDIS_DB) emptied before and after; not part of
# make test): BENCH_ARGS="--quick" for a small run, "--write-docs" to rewrite its figures in
# docs/BENCHMARKS.md, "--profile FILE" to sample the server with py-spy.
BENCH_REDIS_DB ?= 10
bench-calls: install $(MO)
	$(BIN)/python -m tests.bench.calls_load --redis-url redis://127.0.0.1:6379/$(BENCH_REDIS_DB) \
		$(BENCH_ARGS)

# The analytics benchmark (tests/bench/analytics_load.py, ~12–20 minutes, a ~3.5 GB scratch
# PostgreSQL database dropped at the end, Redis db $(BENCH_REDIS_DB) emptied before and after;
# not part of make test): BENCH_ARGS="--quick" for a small run, "--write-docs" to rewrite its
# figures in docs/BENCHMARKS.md, "--explain" to print the funnel's query plans.
bench-analytics: install $(MO)
	$(BIN)/python -m tests.bench.analytics_load --redis-url redis://127.0.0.1:6379/$(BENCH_REDIS_DB) \
		$(BENCH_ARGS)

translations-update: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o app/translations/messages.pot app billing
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching --ignore-obsolete

# The visitor widget (widget_js/src/ → app/static/widget/) and the console's scripts
# (widget_js/console/ → app/static/console/js/), one npm project. npm ci only when node_modules
# is missing or package-lock.json changed (the stamp is named after the lock file's checksum).
WIDGET_STAMP := widget_js/node_modules/.installed-$(shell cat widget_js/package-lock.json 2>/dev/null | cksum | cut -d' ' -f1)
.PHONY: widget test-widget

widget: $(WIDGET_STAMP)
	cd widget_js && node build.mjs
	mkdir -p app/static/vendor  # the console's Socket.IO client, from the same lock file
	cp widget_js/node_modules/socket.io-client/dist/socket.io.min.js app/static/vendor/

$(WIDGET_STAMP): widget_js/package-lock.json
	cd widget_js && npm ci --no-audit --no-fund
	rm -f widget_js/node_modules/.installed-* && touch $@

test-widget:
	node --test widget_js/test/
