# Two commands do all set-up on a fresh machine:
#   make demo   the engine on embedded defaults (SQLite, in-process jobs) with demo data
#   make test   the whole test suite on SQLite, the real PostgreSQL, Redis and Mosquitto
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: install demo test bench services clean

$(BIN)/jingzhi: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/jingzhi

demo: install
	$(BIN)/jingzhi demo

services:
	bash scripts/ensure-services.sh

test: install services
	if [ -f .services.env ]; then . ./.services.env; fi; $(BIN)/python -m pytest

bench: install services
	if [ -f .services.env ]; then . ./.services.env; fi; $(BIN)/python -m bench.engine

clean:
	rm -rf $(VENV) var .pytest_cache
