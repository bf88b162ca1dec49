# dlnsys developer entry points.  `make test` and `make gallery` work on a fresh machine;
# CI runs `bash .ci/run`, which runs `make test`.  Tool details: tools/EXTERNAL-TOOLS.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PYTEST_ARGS ?=

# For the cross-check tests: PyDSTool lives in its own Python 3.9 environment (it cannot be imported
# by dlnsys's Python).  Always exported; tests must check that the file is executable and skip if not.
export DLNSYS_PYDSTOOL_PYTHON := $(CURDIR)/.venv39/bin/python
# xppaut and auto-07p are installed by Debian in /usr/bin; make sure a trimmed PATH still has it.
export PATH := $(PATH):/usr/bin

.PHONY: venv externals test gallery benchmark models clean

venv: $(VENV)/.stamp

# Re-run the install whenever pyproject.toml changes (new dependencies); the venv itself is kept.
$(VENV)/.stamp: pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 10) else \
	    "error: dlnsys needs Python >= 3.10 but $(PYTHON) is %d.%d; run make PYTHON=python3.11 ..." % v[:2])'
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -e '.[gallery,test,sweep,pycobi]'
	touch $@

# Always runs the script: it is idempotent and takes seconds once everything is installed.
# Outside CI a failed step is reported and skipped; with CI=true it is fatal (see the script).
externals: venv
	bash tools/setup-externals.sh

# pytest's exit status 5 ("no tests collected") fails too: CI must really run tests.
# One BLAS thread: the tests' matrices are small, and two threads on two busy cores thrash (10x slower).
test: venv externals
	@OPENBLAS_NUM_THREADS=1 $(VENV)/bin/python -m pytest $(PYTEST_ARGS) || { rc=$$?; \
	    [ $$rc -ne 5 ] || echo "error: pytest ran no tests (exit status 5)"; exit $$rc; }

# The model catalog (models/, if `dlnsys models regenerate` is available) and the phase-portrait gallery
# (gallery/_build, offline HTML). Pages are cached in ~/.cache/dlnsys/gallery; GALLERY_ARGS=--no-cache for a cold build.
GALLERY_OUT ?= gallery/_build
GALLERY_ARGS ?=
gallery: venv
	@if $(VENV)/bin/dlnsys models regenerate --help >/dev/null 2>&1; then \
	    echo "dlnsys models regenerate"; $(VENV)/bin/dlnsys models regenerate; \
	else \
	    echo "note: 'dlnsys models regenerate' is not available; the model catalog is left as it is"; \
	fi
	@# Plotly's gl3d partial bundle (1.7 MB instead of 4.8 MB, from the npm registry, sha512-checked); without it
	@# the 3-D pages use the full plotly.js and the site is 3 MB larger
	@$(VENV)/bin/dlnsys gallery assets || echo "note: continuing with the full plotly.js"
	$(VENV)/bin/dlnsys gallery build --out $(GALLERY_OUT) $(GALLERY_ARGS)
	@echo
	@echo "Gallery: $(abspath $(GALLERY_OUT))/index.html"
	@echo "  open that file in a browser (it works offline), or serve the folder on http://127.0.0.1:8000/ with"
	@echo "  $(VENV)/bin/dlnsys gallery serve --dir $(GALLERY_OUT) --port 8000"

benchmark: venv
	$(VENV)/bin/python benchmarks/run.py

models: venv
	$(VENV)/bin/dlnsys models regenerate

clean:
	rm -rf $(VENV) .venv39 build dist *.egg-info .pytest_cache .hypothesis gallery/_build dop853_temp radau5_temp
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
