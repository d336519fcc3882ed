"""Logging for the long-running bot: plain lines on stderr, chatty libraries kept quiet."""

from __future__ import annotations

import logging

from bot.privacy import logredact


def configure_logging(level: int = logging.INFO) -> None:
    """Set up the root logger with identifiers masked; httpx logs URLs with the token, so it stays at WARNING."""
    logredact.install()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # One line per webhook request (and per health check) at INFO says nothing an operator needs; refusals
    # (4xx) and failures (5xx) are still logged, at WARNING and ERROR.
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
