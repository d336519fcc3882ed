"""Logging for the long-running bot: plain lines on stderr, chatty libraries kept quiet."""

from __future__ import annotations

import logging


def configure_logging(level: int = logging.INFO) -> None:
    """Set up the root logger; httpx logs request URLs, which carry the bot token, so it stays at WARNING."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
