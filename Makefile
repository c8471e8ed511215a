# Two commands matter: `make demo` and `make test`. Each one sets up what it needs.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck services venv native bench bench-ingest bench-modbus bench-query bench-monitor bench-ledger clean fuzz bench-analytics

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { apt-get update -qq && apt-get install -y -qq python3 python3-venv; }
	@# live capture filters (libpcap, BSD) and MAC vendors (IEEE registry) for the security monitor
	@ldconfig -p | grep -q 'libpcap\.so' || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpcap0.8; }
	@test -f /usr/share/ieee-data/oui.csv || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ieee-data; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## native: compile the security monitor's per-packet path with mypyc (C extensions beside
## the sources, ignored by git; rebuilt when one of those sources changes)
NATIVE_SOURCES := $(shell python3 scripts/build_native.py --list)
NATIVE_STAMP   := src/isthmus/native-build.json

$(NATIVE_STAMP): $(STAMP) scripts/build_native.py src/isthmus/native.py $(NATIVE_SOURCES)
	@command -v gcc >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc; }
	@test -f "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h" || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-dev; }
	$(BIN)/python scripts/build_native.py

native: $(NATIVE_STAMP)

## demo: simulated packaging plant -> Modbus/TCP -> gateway -> SQLite historian (no external service)
demo: $(STAMP) $(NATIVE_STAMP)
	$(BIN)/isthmus demo --duration $${DURATION:-60}
	$(BIN)/isthmus tags --data ./isthmus-data | head -20
	$(BIN)/isthmus query acme/lyon/packaging/line1/filler/filler/fill_weight --from -5m --every 10s --agg avg --data ./isthmus-data | tail -8

## services: start the local services the integration tests use, if they are down
services:
	@bash scripts/services.sh

test: $(STAMP) $(NATIVE_STAMP) services
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q -p no:cacheprovider; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 1; fi; exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

bench: bench-ingest bench-modbus bench-query bench-monitor bench-ledger bench-analytics

bench-ingest: $(STAMP) services
	$(BIN)/python bench/ingest.py

bench-modbus: $(STAMP)
	$(BIN)/python bench/modbus_poll.py

bench-query: $(STAMP) services
	$(BIN)/python bench/query.py

# tshark (GPL) is only run as an external oracle by the benchmark, never imported
bench-monitor: $(STAMP) $(NATIVE_STAMP)
	@command -v tshark >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark; }
	$(BIN)/python bench/monitor.py

bench-ledger: $(STAMP)
	$(BIN)/python bench/ledger.py

## bench-analytics: SPC, OEE, energy, alarms, anomaly and health on 5,000 tags at 1 Hz, against pandas
bench-analytics: $(STAMP)
	$(BIN)/python bench/analytics.py --hours $${HOURS:-1}

## fuzz: every protocol dissector under hypothesis for FUZZ_MINUTES (default 3); crashes kept as regressions
fuzz: $(STAMP)
	FUZZ_MINUTES=$${FUZZ_MINUTES:-3} $(BIN)/pytest -q -s -p no:cacheprovider -m fuzz --timeout=0 tests/security/fuzz

clean:
	test ! -x $(BIN)/python || $(BIN)/python scripts/build_native.py --clean
	rm -rf $(VENV) isthmus-data .pytest_cache .mypy_cache .ruff_cache
