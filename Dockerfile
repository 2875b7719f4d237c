# kcd: controller, API and syncer in one image (the chart picks the command per container).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY kcd ./kcd
COPY sidecar ./sidecar
RUN python -m venv /opt/kcd && /opt/kcd/bin/pip install --no-cache-dir .

FROM python:3.11-slim
COPY --from=build /opt/kcd /opt/kcd
ENV PATH=/opt/kcd/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
USER 65534:65534
EXPOSE 8081
CMD ["kcd", "run"]
