# The Signpost bot, long polling by default. Build: docker build -t signpost-bot .  Use: docs/deploy.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Dependencies first, so editing flows or code does not reinstall them.
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install . && rm -rf /root/.cache
COPY flows ./flows
COPY locales ./locales

# Its own user; the database lives in the /data volume, the secret comes in as a file (compose.yaml).
RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin signpost \
    && mkdir -p /data && chown signpost:signpost /data && chmod 0700 /data
USER signpost
ENV BOT_HOME=/data \
    BOT_SECRET_FILE=/run/secrets/signpost_secret
VOLUME ["/data"]

# `docker run IMAGE backup /data/x.backup` and the other subcommands work the same way.
ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
