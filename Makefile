# codex-threadkit: `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# xdist workers for `make test`: one more than the usable cores (tests wait on the binary ~20 % of the time; see
# docs/contributing.md). Override: make test JOBS=2.
JOBS   ?= $(shell $(PYTHON) -c 'import os; print(len(os.sched_getaffinity(0)) + 1)' 2>/dev/null || echo 2)

.PHONY: install demo test bench docs clean

# The install goes through uv (itself from PyPI, into the venv): the same packages as pip in 8-11 s instead of 70-80 s
# on a fresh machine (parallel downloads, no bytecode compiled ahead; `make test` writes what it imports). The venv is
# made without pip (ensurepip alone takes ~4 s): $(PYTHON)'s pip puts uv in it, uv puts pip in it with the rest
# (codex-repro fetches releases with `python -m pip download`). Plain pip when uv cannot be had.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "codex-threadkit needs Python 3.11+ ($(PYTHON) is missing or older): run make PYTHON=python3.12 $(MAKECMDGOALS)" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv --without-pip $(VENV)
	$(PYTHON) -m pip --python $(BIN)/python install --quiet --disable-pip-version-check uv \
		&& $(BIN)/uv pip install --quiet --python $(BIN)/python pip -e '.[test,bench,docs]' \
		|| { { $(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip --default-pip >/dev/null; } \
		     && $(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench,docs]'; }
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install the package with its test extras

demo: $(STAMP)  ## run every reproduction scenario against the bundled codex binary (exit 1 = some differ: expected)
	$(BIN)/codex-repro run || test $$? -eq 1

# `make test` writes bytecode caches even where PYTHONDONTWRITEBYTECODE is set: the suite starts some 400 Python
# processes, and each would compile the toolkit again and pytest would rewrite every plugin's modules again
# (about 1.5 s of CPU per pytest process). --dist loadfile: whole test files to whichever worker is free, in the
# slowest-first order of tests/conftest.py (a module-scoped fixture is made once, not once per worker);
# --no-loadscope-reorder keeps that order (xdist would otherwise put the files with the most tests first).
test: $(STAMP)  ## the whole suite (unit, real binary, real kernel, notebooks) on cores + 1 workers
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -n $(JOBS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

docs: $(STAMP)  ## the documentation site, strictly (a warning fails it), offline, into build/site/
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

bench: $(STAMP)  ## ratio benchmarks; appends to benchmarks/RESULTS.md
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache build dist
