# The two commands of the README: `make run` starts the app, `make test` runs every check CI runs.
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp-bootstrap

.PHONY: run test setup lint typecheck contracts test-core test-app test-faults bench clean dist dist-test

run: setup
	bash installers/launch.sh $(VENV) $(ARGS)

test: setup lint typecheck contracts test-core test-app

setup: $(STAMP)

$(STAMP): pyproject.toml installers/bootstrap.sh
	bash installers/bootstrap.sh $(VENV)
	touch $(STAMP)

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy core server workers ui app

contracts:
	$(BIN)/lint-imports

# core/ must work with Qt absent: run its tests with PySide6, superqt and pyqtgraph made unimportable.
test-core:
	STRATOPIPE_BLOCK_QT=1 $(BIN)/python -m pytest -p no:pytest-qt tests/core

test-app:
	$(BIN)/python -m pytest --ignore=tests/core tests

# Hostile files and several real processes on one data dir (also part of test-app). They drive only
# the CLI and core/, so they run with Qt blocked as well.
test-faults:
	STRATOPIPE_BLOCK_QT=1 $(BIN)/python -m pytest -p no:pytest-qt tests/faults

# The artists' bundle (dist/stratopipe/ and a tar.gz; README "Building the bundle"). Slow (minutes) and
# large: not part of `make test`. dist-test runs the built bundle's own programs (tests/bundle).
dist: setup
	bash installers/build-bundle.sh $(VENV)

dist-test: setup
	test -x dist/stratopipe/stratopipe || { echo "no bundle in dist/stratopipe: run make dist" >&2; exit 1; }
	STRATOPIPE_BUNDLE=dist/stratopipe $(BIN)/python -m pytest -p no:cacheprovider tests/bundle -v

bench: setup
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
