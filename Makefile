# kcd: `make demo` shows the whole job on a local environment; `make test` is what CI runs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck imports pytest env deps bench bench-env bench-controller bench-syncer bench-bluegreen bench-api bench-webhook clean-env image

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# System packages (apt-get) and the Go-built control plane, helm, ct, kwok, etcd (cached under ~/.cache/kcd).
env: $(VENV)/.installed
	tools/testenv/system-deps.sh
	tools/testenv/build.sh all

deps: env

demo: deps
	$(PY) -m tests.env

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

imports: $(VENV)/.installed
	$(VENV)/bin/lint-imports

# pytest exits 5 when a selection (PYTEST_ARGS=-k …) matches no test; that is not a failure of the code.
pytest: deps
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests were selected"; rc=0; fi; exit $$rc

test: lint typecheck imports pytest

bench: bench-env bench-controller bench-syncer bench-bluegreen bench-api bench-webhook

bench-controller: deps
	$(PY) -m benchmarks.bench_controller --sizes 1,1000,2000 --samples 50 --senders 8

bench-env: deps
	$(PY) -m benchmarks.bench_env

bench-syncer: deps
	$(PY) -m benchmarks.bench_syncer

bench-bluegreen: deps
	$(PY) -m benchmarks.bench_bluegreen

bench-api: deps
	$(PY) -m benchmarks.bench_api --sizes 1000,2000 --seconds 15 --changes 50

bench-webhook: deps
	$(PY) -m benchmarks.bench_webhook --rate 20 --seconds 60

# The container image, with buildah and an mmdebstrap Debian base (no Docker engine; as root; docs/image.md).
image:
	tools/testenv/image-deps.sh
	PYTHON=$(PYTHON) tools/image/build.sh

clean-env:
	rm -rf ~/.cache/kcd/src
