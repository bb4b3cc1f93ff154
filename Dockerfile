# Browser bundles (bpmn-js) pinned by frontend/package-lock.json, built apart so node stays out of the image.
FROM node:20-slim AS assets
WORKDIR /src
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY engine ./engine
COPY webui ./webui
COPY --from=assets /src/node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js ./webui/static/vendor/
COPY --from=assets /src/node_modules/bpmn-js/dist/assets/ ./webui/static/vendor/
COPY sensors ./sensors
COPY integrations ./integrations
COPY jingzhi ./jingzhi
RUN pip install --no-cache-dir '.[web]'
COPY bpmn ./bpmn
COPY seed ./seed
RUN useradd --system --home /app jingzhi && mkdir -p /var/lib/jingzhi/evidence && chown jingzhi /var/lib/jingzhi/evidence
USER jingzhi
ENTRYPOINT ["jingzhi"]
