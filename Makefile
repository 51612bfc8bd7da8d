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
DEBS := qpdf ghostscript
debs:
	@if command -v qpdf >/dev/null && command -v gs >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get install -y -q $(DEBS) >/dev/null || \
	  (apt-get update -q >/dev/null && apt-get install -y -q $(DEBS) >/dev/null); \
	elif command -v sudo >/dev/null; then sudo apt-get install -y -q $(DEBS) >/dev/null; \
	else echo "qpdf and ghostscript are missing and cannot be installed without root: the PDF producer tests will fail"; fi

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

# The suite runs twice: on SQLite (the embedded default), then on PostgreSQL when one answers.
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

test: install lint
	@echo "== test suite on SQLite =="
	$(PY) -m pytest -q
	@if $(PY) scripts/pg_available.py "$(PG_URL)"; then \
	  echo "== test suite on PostgreSQL ($(PG_URL)) =="; \
	  SCEAU_TEST_DATABASE_URL="$(PG_URL)" $(PY) -m pytest -q; \
	else \
	  echo "SKIPPED the PostgreSQL run: no PostgreSQL server answers at $(PG_URL) (the SQLite run passed)"; \
	fi

run: install
	$(VENV)/bin/sceau chain up
	$(VENV)/bin/sceau deploy
	$(PY) scripts/demo_issuer.py
	$(VENV)/bin/sceau serve --port $(PORT)

bench: install
	$(PY) scripts/bench_gas.py

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
