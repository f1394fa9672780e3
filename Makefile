# The two commands the README opens with: `make demo` and `make test`.
# Both build .venv themselves from a Python >= 3.12 (see scripts/find-python).
SHELL := /bin/sh
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test venv clean benchmarks

$(STAMP): pyproject.toml constraints.txt
	@PYTHON=$$(scripts/find-python) || exit 1; \
	  echo "building $(VENV) with $$PYTHON"; \
	  [ -x $(PY) ] || $$PYTHON -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/oca demo --out build/demo
	$(VENV)/bin/oca summary build/demo --lang en --lang ru --lang ky --out build/demo/summary

test: $(STAMP)
	$(PY) -m pytest

benchmarks: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf build $(VENV)
