FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY engine ./engine
COPY webui ./webui
COPY sensors ./sensors
COPY integrations ./integrations
COPY jingzhi ./jingzhi
RUN pip install --no-cache-dir .
COPY bpmn ./bpmn
RUN useradd --system --home /app jingzhi
USER jingzhi
ENTRYPOINT ["jingzhi"]
