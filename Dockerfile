# The front desk's image. Build it yourself (`docker compose build`, or `docker build -t frontdesk .`):
# CI has no Docker engine; it lints this file and replays its commands (tests/deploy/test_image_replay.py),
# so keep every RUN a plain command that also works outside Docker.
#
# Installed from the hashed lock (requirements/runtime.lock.txt), the NLU model trained at build time and
# kept read-only in the image; the process runs as an unprivileged user whose only writable folder is
# FRONTDESK_HOME (a volume).
# Separate RUN steps on purpose: the dependency layer stays cached while the code changes.
# hadolint global ignore=DL3059

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot bot
COPY dialogs dialogs
COPY backend backend
COPY config config
COPY nlu_data nlu_data
COPY migrations migrations
RUN python -m pip wheel --no-cache-dir --disable-pip-version-check --no-deps -w /dist .

FROM python:3.11-slim
ENV PATH=/opt/frontdesk/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FRONTDESK_ENVIRONMENT=production \
    FRONTDESK_HOME=/var/lib/frontdesk \
    FRONTDESK_NLU__MODEL_PATH=/opt/frontdesk/models/nlu.pkl \
    FRONTDESK_HOST=0.0.0.0 \
    FRONTDESK_PORT=8080
RUN python -m venv /opt/frontdesk/venv
COPY requirements/runtime.lock.txt /tmp/runtime.lock.txt
RUN python -m pip install --no-cache-dir --disable-pip-version-check --require-hashes -r /tmp/runtime.lock.txt
COPY --from=build /dist /tmp/dist
RUN python -m pip install --no-cache-dir --disable-pip-version-check --no-deps /tmp/dist/*.whl
RUN frontdesk nlu train
RUN groupadd --system --gid 10001 frontdesk \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/frontdesk --no-create-home frontdesk \
    && mkdir -p /var/lib/frontdesk \
    && chown frontdesk:frontdesk /var/lib/frontdesk \
    && chmod 0700 /var/lib/frontdesk
USER 10001:10001
WORKDIR /var/lib/frontdesk
VOLUME ["/var/lib/frontdesk"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('FRONTDESK_PORT', '8080'), timeout=4)"]
CMD ["sh", "-c", "frontdesk db upgrade && exec frontdesk serve"]
