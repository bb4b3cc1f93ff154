# Three stages: the browser bundles (node, the recipe of `make assets`: scripts/build-assets.sh), the wheel (what
# `pip install jingzhi` installs, with those bundles inside), and the image, which installs only the wheel: node and
# the source tree stay out of it. The wheel carries the roster (seed/teams.json) and the district's bpmn/, which
# `jingzhi setup` loads and deploys; JINGZHI_ROSTER_FILE and JINGZHI_BPMN_DIR point at other copies.
FROM node:20-slim AS assets
WORKDIR /src
COPY frontend/package.json frontend/package-lock.json ./frontend/
COPY frontend/src ./frontend/src
COPY scripts/build-assets.sh ./scripts/
RUN bash scripts/build-assets.sh

FROM python:3.11-slim AS wheel
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY engine ./engine
COPY webui ./webui
COPY sensors ./sensors
COPY integrations ./integrations
COPY jingzhi ./jingzhi
COPY simulation ./simulation
COPY seed ./seed
COPY bpmn ./bpmn
COPY --from=assets /src/webui/static/vendor ./webui/static/vendor
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

FROM python:3.11-slim
COPY --from=wheel /dist /dist
RUN pip install --no-cache-dir "$(ls /dist/jingzhi-*.whl)[web]" && rm -rf /dist
RUN useradd --system --home /var/lib/jingzhi jingzhi && mkdir -p /var/lib/jingzhi/evidence \
    && chown -R jingzhi /var/lib/jingzhi
WORKDIR /var/lib/jingzhi
ENV JINGZHI_EVIDENCE_DIR=/var/lib/jingzhi/evidence
USER jingzhi
ENTRYPOINT ["jingzhi"]
