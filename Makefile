# Two commands: `make demo` (set up, generate the demo study, write its report) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
EXT_STAMP := $(VENV)/.extensions-stamp
EXT_SOURCES := $(wildcard src/ucnstudy/sources/pcap/*.pyx src/ucnstudy/sources/pcap/*.py)
DB ?= ucnstudy.duckdb

.PHONY: demo test venv ext system-deps lint bench notebook clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev,spark,bench]'
	touch $(STAMP)

# The compiled pcap modules (setup.py) rebuilt in place after an edit of their sources: an
# extension module shadows the .py beside it.
ext: $(EXT_STAMP)

$(EXT_STAMP): $(STAMP) $(EXT_SOURCES)
	$(BIN)/python setup.py -q build_ext --inplace -j 2
	touch $(EXT_STAMP)

# Debian tools the tests use: tshark (pcap cross-check), chromium (report in a real browser),
# Java 17 (local Spark).
system-deps:
	@command -v tshark >/dev/null && command -v chromium >/dev/null && command -v java >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    tshark chromium openjdk-17-jre-headless >/dev/null; }

demo: ext
	$(BIN)/ucn --db $(DB) demo
	@if $(BIN)/ucn report --help >/dev/null 2>&1; then \
	  $(BIN)/ucn --db $(DB) report --out report && echo "report: report/index.html"; \
	else $(BIN)/ucn --db $(DB) info; fi

test: ext system-deps
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/pytest -q

lint: venv
	$(BIN)/ruff check src tests benchmarks

bench: ext
	$(BIN)/python -m benchmarks

# docs/notebooks/exploration.ipynb executed on $(DB) and rendered to notebook/exploration.html
# (the stored notebook stays without outputs).
notebook: venv
	@test -e $(DB) || $(BIN)/ucn --db $(DB) demo
	UCN_DB=$(abspath $(DB)) MPLBACKEND=Agg $(BIN)/jupyter nbconvert --to html --execute \
	  --ExecutePreprocessor.timeout=600 --output-dir notebook docs/notebooks/exploration.ipynb
	@echo "notebook: notebook/exploration.html"

clean:
	rm -rf $(VENV) report notebook $(DB) .pytest_cache .ruff_cache
