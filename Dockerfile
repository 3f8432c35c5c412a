# syntax=docker/dockerfile:1
# Recourse: build the locked environment, then run it as a non-root user.
# Configured only by environment (see README): DATABASE_URL (the app role), DATABASE_OWNER_URL
# (the tables' owner, for the migrations `serve` runs first), JWT_SECRET and AUDIT_HMAC_KEY are required.

FROM python:3.11-slim AS build
ENV UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY app ./app
COPY migrations ./migrations
COPY alembic.ini ./

FROM python:3.11-slim AS runtime
RUN groupadd --system recourse && useradd --system --gid recourse --home /app recourse
WORKDIR /app
COPY --from=build --chown=recourse:recourse /app /app
ENV PATH="/app/.venv/bin:$PATH" PYTHONUNBUFFERED=1 ENVIRONMENT=production HOST=0.0.0.0 PORT=8000
USER recourse
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz')"
# `serve` migrates to head first (once, before the workers start); demo data is never loaded into an
# external database. It runs one worker process per CPU core the container may use; set WEB_WORKERS
# where a CPU quota (not a cpuset) limits the container, as the core count does not see quotas.
CMD ["python", "-m", "app.cli", "serve", "--no-seed"]
