# syntax=docker/dockerfile:1.7
# Inkroom's container image: one realtime "pod" (Hypercorn + uvloop via `python -m realtime.server.serve`).
#
# Stage 1 builds the browser bundle with Node; stage 2 is a slim Python runtime that carries the
# installed package, the collected static files and nothing of Node. There is deliberately no
# HEALTHCHECK: Kubernetes probes /healthz and /readyz (k8s/base/deployment.yaml), and a Docker
# healthcheck would only duplicate them with a different clock.

ARG NODE_IMAGE=node:20-bookworm-slim
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${NODE_IMAGE} AS frontend
WORKDIR /src/frontend
# Lockfile first so `npm ci` is cached until the dependencies change.
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build
# Output: /src/frontend/static/frontend/dist

FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8000 \
    HOST=0.0.0.0
# A fixed, unprivileged uid/gid so Kubernetes' runAsNonRoot can verify it numerically.
RUN groupadd --system --gid 10001 inkroom \
 && useradd --system --uid 10001 --gid inkroom --home-dir /app --shell /usr/sbin/nologin inkroom
WORKDIR /app
COPY pyproject.toml ./
COPY config/ config/
COPY board/ board/
COPY api/ api/
COPY realtime/ realtime/
COPY frontend/ frontend/
COPY manage.py ./
COPY --from=frontend /src/frontend/static/frontend/dist/ frontend/static/frontend/dist/
RUN pip install . \
 && rm -rf frontend/node_modules build *.egg-info
# collectstatic needs settings but no database; the key is a build-time throwaway, never used
# at run time (the Secret provides SECRET_KEY).
RUN SECRET_KEY=collectstatic-only DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py collectstatic --noinput \
 && rm -f /tmp/build.sqlite3 \
 && chown -R root:root /app && chmod -R a+rX /app
USER 10001:10001
EXPOSE 8000
# realtime.server.serve binds $HOST:$PORT (or $BIND), raises RLIMIT_NOFILE to the hard limit and drains
# on SIGTERM (close 1012). Exec form: the server is PID 1 and receives the kubelet's SIGTERM
# itself, not a shell that would swallow it.
ENTRYPOINT ["python", "-m", "realtime.server.serve"]
