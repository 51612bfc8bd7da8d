# Sceau: `make test` and `make run` set everything up from scratch (Python packages, npm tools,
# the local chain); `make install` alone is idempotent.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT
export SCEAU_KEY_PASSPHRASE ?= demo-passphrase

.PHONY: install test run lint bench clean chromium debs

CHROMIUM := /usr/bin/chromium

install: $(VENV)/.installed node_modules/.installed chromium debs

# Debian's Chromium for the browser tests (Playwright drives it; it cannot download browsers here).
chromium:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get install -y -q chromium >/dev/null || \
	  (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null); \
	elif command -v sudo >/dev/null; then sudo apt-get install -y -q chromium >/dev/null; \
	else echo "Debian's chromium is missing and cannot be installed without root: the browser tests will be skipped"; fi

# Debian's qpdf and Ghostscript: real PDF producers the certified-PDF tests certify and verify.
# SoftHSM2: a PKCS#11 token, for issuer keys held in an HSM (tests/test_custody.py).
# wrk: the HTTP load generator of scripts/bench_verify.py.
DEBS := qpdf ghostscript softhsm2 wrk
debs:
	@if command -v qpdf >/dev/null && command -v gs >/dev/null && command -v softhsm2-util >/dev/null && command -v wrk >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get install -y -q $(DEBS) >/dev/null || \
	  (apt-get update -q >/dev/null && apt-get install -y -q $(DEBS) >/dev/null); \
	elif command -v sudo >/dev/null; then sudo apt-get install -y -q $(DEBS) >/dev/null; \
	else echo "qpdf, ghostscript or softhsm2 is missing and cannot be installed without root: the PDF producer and HSM tests will fail or skip"; fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# The suite runs on SQLite (the embedded default), then every test that uses the database runs again
# on PostgreSQL (tests/store_only.py: the others do not touch the store).
# With CI=true (as .ci/run sets it) nothing may be skipped: no PostgreSQL or no Chromium fails.
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

test: install lint
	@echo "== test suite on SQLite =="
	$(PY) -m pytest -q
	@if $(PY) scripts/pg_available.py "$(PG_URL)"; then \
	  echo "== the tests that use the database, on PostgreSQL ($(PG_URL)) =="; \
	  SCEAU_TEST_DATABASE_URL="$(PG_URL)" $(PY) -m pytest -q -p tests.store_only --store-only; \
	elif [ "$$CI" = true ]; then \
	  echo "FAILED: CI=true and no PostgreSQL server answers at $(PG_URL): the production store went untested"; \
	  exit 1; \
	else \
	  echo "SKIPPED the PostgreSQL run: no PostgreSQL server answers at $(PG_URL) (the SQLite run passed)"; \
	fi

run: install
	@echo "(in another shell, \`. .venv/bin/activate\` puts sceau and sceau-verify on PATH)"
	$(VENV)/bin/sceau chain up
	$(VENV)/bin/sceau deploy
	$(PY) scripts/demo_issuer.py
	$(VENV)/bin/sceau serve --port $(PORT)

# schemathesis against the issuer API's OpenAPI document (a throw-away chain and database).
.PHONY: fuzz
fuzz: install
	$(PY) scripts/fuzz_api.py --max-examples 50

bench: install
	$(PY) scripts/bench_gas.py

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
