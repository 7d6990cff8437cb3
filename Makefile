# Two commands for a newcomer; each creates the virtual environment it needs.
#   make lesson   run the lesson comparison on the built-in problems
#   make test     run the test suite (library, lessons, notebooks)
# Pinned versions come from constraints.txt, so a new jax or optax release
# cannot change what the tests compare.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt
PYTEST_WORKERS ?= 2

.PHONY: lesson test bench lint clean

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
	MPLBACKEND=Agg JAX_PLATFORMS=cpu $(PY) -m pytest -n $(PYTEST_WORKERS) -q

bench: $(VENV)/.lessons-installed
	$(PY) -m jaxopt_lessons bench --out bench-output

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check jaxopt_lessons tests

clean:
	rm -rf $(VENV) lesson-output bench-output
