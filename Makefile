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

# Browser bundles from the npm registry, pinned by frontend/package-lock.json: the bpmn-js viewer and modeler, the
# dmn-js modeler (its CSS in vendor/dmn/, apart from bpmn-js's own diagram-js.css), and bpmnlint bundled by esbuild
# from frontend/src/lint.js into vendor/jingzhi-lint.js. webui/static/vendor is git-ignored. Last, the UI's message
# catalogues: webui/translations/*/LC_MESSAGES/messages.po compiled to .mo (git-ignored; the wheel build does it too).
assets:
	cd frontend && npm ci --no-audit --no-fund
	mkdir -p webui/static/vendor/dmn
	cd frontend && npm run --silent build
	cp frontend/node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js webui/static/vendor/
	cp frontend/node_modules/bpmn-js/dist/bpmn-modeler.production.min.js webui/static/vendor/
	cp -r frontend/node_modules/bpmn-js/dist/assets/. webui/static/vendor/
	cp frontend/node_modules/dmn-js/dist/dmn-modeler.production.min.js webui/static/vendor/
	cp -r frontend/node_modules/dmn-js/dist/assets/. webui/static/vendor/dmn/
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
