#!/usr/bin/env bash
# The browser bundles the pages load, from the npm registry, pinned by frontend/package-lock.json (`make assets` and
# the Dockerfile's first stage both run this): the bpmn-js viewer and modeler, the dmn-js modeler (its CSS in
# vendor/dmn/, apart from bpmn-js's own diagram-js.css), and bpmnlint bundled by esbuild from frontend/src/lint.js
# into vendor/jingzhi-lint.js. webui/static/vendor is git-ignored.
set -euo pipefail
cd "$(dirname "$0")/.."

vendor=webui/static/vendor
modules=frontend/node_modules
(cd frontend && npm ci --no-audit --no-fund)
mkdir -p "$vendor/dmn"
(cd frontend && npm run --silent build)
cp "$modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js" "$vendor/"
cp "$modules/bpmn-js/dist/bpmn-modeler.production.min.js" "$vendor/"
cp -r "$modules/bpmn-js/dist/assets/." "$vendor/"
cp "$modules/dmn-js/dist/dmn-modeler.production.min.js" "$vendor/"
cp -r "$modules/dmn-js/dist/assets/." "$vendor/dmn/"
