# alertrouter: the engine on its embedded default (SQLite), as the README's engine command runs it.
#
#   docker build -t alertrouter .
#   docker run -p 9095:9095 -v alertrouter-data:/var/lib/alertrouter alertrouter
#
# Mount your own config at /etc/alertrouter/config.yaml (or the directory at /etc/alertrouter);
# the default is config.example.yaml, which takes its listen address and database URL from the
# ALERTROUTER_LISTEN and ALERTROUTER_DATABASE_URL variables set below.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# An unprivileged user that owns the data directory (named volumes start with this ownership).
RUN groupadd --system --gid 10001 alertrouter \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/alertrouter \
        --no-create-home --shell /usr/sbin/nologin alertrouter \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/alertrouter \
    && install -d -m 0755 /etc/alertrouter

# The README's engine install: a virtualenv and `pip install .` of the checkout (no test extras).
WORKDIR /src
COPY . /src
RUN python3 -m venv /opt/alertrouter \
    && /opt/alertrouter/bin/pip install . \
    && rm -rf /src
WORKDIR /var/lib/alertrouter

COPY config.example.yaml /etc/alertrouter/config.yaml

ENV PATH=/opt/alertrouter/bin:$PATH \
    ALERTROUTER_CONFIG=/etc/alertrouter/config.yaml \
    ALERTROUTER_DATABASE_URL=sqlite:////var/lib/alertrouter/alertrouter.db \
    ALERTROUTER_LISTEN=0.0.0.0:9095

VOLUME ["/etc/alertrouter", "/var/lib/alertrouter"]
USER 10001:10001
EXPOSE 9095

# Liveness on the port of ALERTROUTER_LISTEN; the slim image has no curl, so Python asks.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; port = os.environ.get('ALERTROUTER_LISTEN', '0.0.0.0:9095').rpartition(':')[2]; urllib.request.urlopen(f'http://127.0.0.1:{port}/-/healthy', timeout=4)"]

ENTRYPOINT ["alertrouter"]
CMD ["serve"]
