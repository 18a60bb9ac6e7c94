# Centralita: the production image (a wheel install, no dev tools, a non-root user, a health check).
#   docker build -t centralita .
#   docker run --env-file .env -v "$PWD/centralita.yaml:/app/centralita.yaml:ro" -p 8000:8000 centralita
# compose.yaml runs it with PostgreSQL and a separate worker.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY cards ./cards
COPY jobs ./jobs
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CENTRALITA_CONFIG=/app/centralita.yaml \
    DATABASE_URL=sqlite:////data/centralita.db
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin centralita \
    && mkdir -p /app /data \
    && chown centralita /data
WORKDIR /app
USER 10001
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
CMD ["centralita", "serve", "--host", "0.0.0.0", "--port", "8000"]
