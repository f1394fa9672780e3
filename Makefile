# The two commands the README opens with: `make demo` and `make test`.
# Both build .venv themselves from a Python >= 3.12 (see scripts/find-python), with uv when it is on the PATH
# (about ten times faster than pip on a fresh machine), else with pip; the install prints its progress.
# `make demo` installs the core and the Bayesian extra (the demo has Bayesian hypotheses) and also builds the
# portfolio page of the demo's six CSOs (build/demo/portfolio/index.html); `make test` adds the
# dev extra (test tools, reference implementations, Dask). `pip install .` alone gives the core.
SHELL := /bin/sh
VENV := .venv
PY := $(VENV)/bin/python
UV := $(shell command -v uv 2>/dev/null)
DEMO_STAMP := $(VENV)/.installed-bayes
STAMP := $(VENV)/.installed-dev

.PHONY: demo test venv clean benchmarks

$(PY):
	@PYTHON=$$(scripts/find-python) || exit 1; \
	  if [ -n "$(UV)" ]; then echo "building $(VENV) with $$PYTHON (uv)"; $(UV) venv --quiet --python "$$PYTHON" $(VENV); \
	  else echo "building $(VENV) with $$PYTHON (pip; install uv for a faster setup)"; $$PYTHON -m venv $(VENV) && \
	    $(PY) -m pip install --quiet --upgrade pip; fi

# $(1): the extras to install, e.g. bayes or dev
define install
	@echo "installing oca-experiments[$(1)] into $(VENV) (constraints.txt pins every version)"
	@if [ -n "$(UV)" ]; then $(UV) pip install --python $(PY) -c constraints.txt -e ".[$(1)]"; \
	  else $(PY) -m pip install --progress-bar on -c constraints.txt -e ".[$(1)]"; fi
endef

$(DEMO_STAMP): pyproject.toml constraints.txt | $(PY)
	$(call install,bayes)
	@touch $@

$(STAMP): pyproject.toml constraints.txt | $(PY)
	$(call install,dev)
	@touch $@ $(DEMO_STAMP)

venv: $(STAMP)

demo: $(DEMO_STAMP)
	$(VENV)/bin/oca demo --out build/demo
	$(VENV)/bin/oca summary build/demo --lang en --lang ru --lang ky --out build/demo/summary
	$(VENV)/bin/oca portfolio build/demo --allow-single --truth build/demo/data/truth.json --design design \
	  --out build/demo/portfolio

test: $(STAMP)
	$(PY) -m pytest

benchmarks: $(STAMP)
	$(PY) benchmarks/run_all.py $(if $(BASELINE),--baseline $(BASELINE)) $(BENCH_ARGS)

clean:
	rm -rf build $(VENV)
