# Two commands a new user needs: `make run` (the demo venue) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench install clean

# The engine's modules are compiled (setup.py): editing one reinstalls, which recompiles them.
COMPILED_SOURCES := $(wildcard src/sandex/core/engine.py src/sandex/core/book.py src/sandex/core/orders.py src/sandex/core/ledger.py)

$(STAMP): pyproject.toml setup.py $(COMPILED_SOURCES)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/sandex serve $(ARGS)

# Lint first: ruff's rules and format over the package, tests and benchmarks, then mypy --strict on src.
lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The benchmarks' own tools (peer engines, picows, profilers), pinned; dev-only, so not in pyproject.
BENCH_DEPS := cython-orderbook==0.1.2 pyorderbook==0.4.9 lightmatchingengine==2019.1.4 \
	order-matching==0.12.0 polars==2.1.0 pandera==0.35.0 orderly-chaos==0.2.0 obook==0.1.0 \
	limit-order-book==2.0.0 picows==2.3.1 py-spy==0.4.3 pyinstrument==5.1.3 hftbacktest==2.4.4

# The benchmarks of issue 6 and the replay's of issue 12, one table (see bench/README.md). BENCH_ARGS=--quick for a smoke run.
bench: $(STAMP)
	$(BIN)/pip install --quiet $(BENCH_DEPS)
	$(BIN)/python bench/suite.py $(BENCH_ARGS)

# Scale-out demo (issue 13): NATS with JetStream, one engine and two gateways on loopback; prints
# their endpoints and runs until Ctrl-C. State (journal, stream, logs) in .cluster/. ARGS: see
# `bench/cluster.py serve --help` (e.g. ARGS="--gateways 3 --config sandex.toml").
.PHONY: cluster
cluster: $(STAMP)
	$(BIN)/python bench/cluster.py serve $(ARGS)

clean:
	rm -rf $(VENV) build src/*.egg-info
	find src -name '*.so' -delete

# Long fuzzing: 100,000 hostile inputs per test (DigiFinex, Infoway and DBot WebSocket and REST).
# CI runs the same tests with a few hundred inputs each.
.PHONY: fuzz
FUZZ_EXAMPLES ?= 100000
fuzz: $(STAMP)
	SANDEX_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -s --timeout=0 \
		-W ignore::hypothesis.errors.HypothesisWarning tests/fuzz $(PYTEST_ARGS)
