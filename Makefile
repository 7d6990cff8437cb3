# Two commands for a newcomer; each creates the virtual environment it needs.
#   make lesson   run the lesson comparison on the built-in problems
#   make test     run the test suite (library, lessons, notebooks)
#   make docs     build the documentation site into docs/_build/html
#   make docs-test  open the built site in headless Chromium and check it
# Pinned versions come from constraints.txt, so a new jax or optax release
# cannot change what the tests compare.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=

.PHONY: lesson test bench lint clean docs docs-test docs-clean FORCE

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.lessons-installed: pyproject.toml constraints.txt | $(PY)
	$(PIP) -e ".[lessons]"
	touch $@

$(VENV)/.dev-installed: pyproject.toml constraints.txt | $(PY)
	$(PIP) -e ".[dev,torch]"
	touch $@ $(VENV)/.lessons-installed

lesson: $(VENV)/.lessons-installed
	MPLBACKEND=Agg $(PY) -m jaxopt_lessons --out lesson-output

test: $(VENV)/.dev-installed
	MPLBACKEND=Agg JAX_PLATFORMS=cpu $(PY) -m pytest -n $(PYTEST_WORKERS) -q $(PYTEST_ARGS)

bench: $(VENV)/.lessons-installed
	$(PY) -m jaxopt_lessons bench --out bench-output

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check jaxopt_lessons tests

# The documentation site (Sphinx + myst-nb) has its own virtual environment,
# pinned by constraints.txt and docs/constraints.txt. The claim pages read one
# run of `python -m jaxopt_lessons` (redone only when the package changes;
# LESSON_FLAGS=--quick for the small version); the notebooks are executed by
# myst-nb and cached in docs/_build/.jupyter_cache, so a rebuild is fast.
DOCS_VENV ?= .venv-docs
DOCS_PY := $(DOCS_VENV)/bin/python
# --no-compile: Python compiles what the build imports, not every installed file.
DOCS_PIP := $(DOCS_PY) -m pip install --quiet --disable-pip-version-check --no-compile -c constraints.txt -c docs/constraints.txt
DOCS_OUT ?= docs/_build
LESSON_FLAGS ?=
SPHINXOPTS ?=
PACKAGE_SOURCES := $(shell find jaxopt_lessons -name '*.py' -not -path '*/__pycache__/*')

$(DOCS_PY):
	$(PYTHON) -m venv $(DOCS_VENV)

$(DOCS_VENV)/.docs-installed: pyproject.toml constraints.txt docs/constraints.txt docs/requirements.txt | $(DOCS_PY)
	$(DOCS_PIP) -e ".[lessons]" -r docs/requirements.txt
	touch $@

# Rewritten only when LESSON_FLAGS change, so that the report is redone then.
$(DOCS_OUT)/lesson-flags: FORCE
	@mkdir -p $(DOCS_OUT)
	@echo "$(LESSON_FLAGS)" | cmp -s - $@ || echo "$(LESSON_FLAGS)" > $@

# Exit code 1 means a claim did not hold: the pages say so, the build goes on.
$(DOCS_OUT)/claims/report.json: $(PACKAGE_SOURCES) $(DOCS_OUT)/lesson-flags $(DOCS_VENV)/.docs-installed
	rm -rf $(DOCS_OUT)/claims && mkdir -p $(DOCS_OUT)/claims
	MPLBACKEND=Agg JAX_PLATFORMS=cpu $(DOCS_PY) -m jaxopt_lessons $(LESSON_FLAGS) \
		--out $(DOCS_OUT)/claims --json $(DOCS_OUT)/claims/report.tmp \
		> $(DOCS_OUT)/claims/table.txt; test $$? -le 1
	echo "$(LESSON_FLAGS)" > $(DOCS_OUT)/claims/flags.txt
	mv $(DOCS_OUT)/claims/report.tmp $@

docs: $(DOCS_VENV)/.docs-installed $(DOCS_OUT)/claims/report.json
	MPLBACKEND=Agg JAX_PLATFORMS=cpu $(DOCS_PY) -m sphinx -b html -W --keep-going -n \
		-d $(DOCS_OUT)/doctrees $(SPHINXOPTS) docs $(DOCS_OUT)/html
	@echo "Open $(DOCS_OUT)/html/index.html (or: $(DOCS_PY) -m http.server -d $(DOCS_OUT)/html)"

docs-test: $(DOCS_VENV)/.docs-installed
	$(DOCS_PY) -m pytest -q -p no:cacheprovider docs/tests

docs-clean:
	rm -rf $(DOCS_OUT) docs/api docs/lessons docs/claims

clean:
	rm -rf $(VENV) $(DOCS_VENV) lesson-output bench-output $(DOCS_OUT) docs/api docs/lessons docs/claims
