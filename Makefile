# Two entry points for a fresh machine with Python 3.11+: `make test` now, `make run` with the portal.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: test lint install bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The stamp is rebuilt whenever pyproject.toml changes, so new dependencies arrive by themselves.
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed-test

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check crypto tests bench
	$(BIN)/ruff format --check crypto tests bench

bench: $(VENV)/.installed-test
	$(BIN)/python bench/crypto_bench.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
