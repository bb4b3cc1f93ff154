# Two commands do all set-up on a fresh machine:
#   make demo   the engine on embedded defaults (SQLite, in-process jobs) with demo data
#   make test   the whole test suite on SQLite, the real PostgreSQL, Redis and Mosquitto
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: install assets demo test bench services clean

$(BIN)/jingzhi: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,web]'
	touch $@

install: $(BIN)/jingzhi assets

# Browser bundles from the npm registry, pinned by frontend/package-lock.json, into webui/static/vendor/ (git-ignored):
# the recipe is scripts/build-assets.sh, which the Dockerfile runs too. Then the UI's message catalogues:
# webui/translations/*/LC_MESSAGES/messages.po compiled to .mo (git-ignored; the wheel build does it too, setup.py).
assets:
	bash scripts/build-assets.sh
	$(BIN)/python -m webui.catalogues

demo: install assets
	$(BIN)/jingzhi demo

services:
	bash scripts/ensure-services.sh

test: install assets services
	if [ -f .services.env ]; then . ./.services.env; fi; $(BIN)/python -m pytest

bench: install services
	if [ -f .services.env ]; then . ./.services.env; fi; $(BIN)/python -m bench.engine

clean:
	rm -rf $(VENV) var .pytest_cache
