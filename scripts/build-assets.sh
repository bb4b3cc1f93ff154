#!/usr/bin/env bash
# The browser bundles the pages load, from the npm registry, pinned by frontend/package-lock.json (`make assets` and
# the Dockerfile's first stage both run this): the bpmn-js viewer and modeler, the dmn-js modeler (its CSS in
# vendor/dmn/, apart from bpmn-js's own diagram-js.css), and bpmnlint bundled by esbuild from frontend/src/lint.js
# into vendor/jingzhi-lint.js; Leaflet with its plugins, gcoord and ECharts for the command centre and the dashboard.
# webui/static/vendor is git-ignored.
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
# the command centre's map (Leaflet, its cluster and heat plugins, gcoord for GCJ-02) and the dashboard's ECharts
mkdir -p "$vendor/leaflet"
cp -r "$modules/leaflet/dist/leaflet.js" "$modules/leaflet/dist/leaflet.css" "$modules/leaflet/dist/images" "$vendor/leaflet/"
cp "$modules/leaflet.markercluster/dist/leaflet.markercluster.js" "$modules/leaflet.markercluster/dist/MarkerCluster.css" \
   "$modules/leaflet.markercluster/dist/MarkerCluster.Default.css" "$vendor/leaflet/"
cp "$modules/leaflet.heat/dist/leaflet-heat.js" "$vendor/leaflet/"
cp "$modules/gcoord/dist/gcoord.global.prod.js" "$vendor/"
cp "$modules/echarts/dist/echarts.min.js" "$vendor/"
