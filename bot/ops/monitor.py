"""Watching the running Telegram bot: is Telegram reachable, is another copy running, does the database work?

Every PROBE_SECONDS it asks Telegram something cheap (getMe; getWebhookInfo in webhook mode, which also
shows a webhook another copy changed) and reads the database; python-telegram-bot's polling errors come
in through `on_poll_error`, which replaces its traceback-per-retry logging. What it finds feeds the
staff alerts (`alerts.py`) and `/healthz` (`health.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.config import ConfigError
from bot.ops.alerts import CONFLICT_QUIET, UNREACHABLE_AFTER, Alerts, Trouble
from bot.ops.health import Health, HealthServer

log = logging.getLogger(__name__)

PROBE_SECONDS = 30.0


@dataclass
class Monitor:
    """Probes, alerts and health for one running Application."""

    application: Application
    alerts: Alerts
    check_database: Callable[[], Awaitable[object]]  # any cheap read; raises when the database fails
    webhook: str | None = None  # the --webhook address, None for long polling
    clock: Callable[[], float] = time.monotonic
    probe_seconds: float = PROBE_SECONDS
    last_update: float | None = None
    started: float = field(init=False)
    health_server: HealthServer | None = None
    _task: asyncio.Task[None] | None = None
    _last_poll_error: str = ""

    def __post_init__(self) -> None:
        self.started = self.clock()

    @classmethod
    def attach(
        cls,
        application: Application,
        notify: Callable[[str], Awaitable[None]],
        check_database: Callable[[], Awaitable[object]],
        webhook: str | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        probe_seconds: float = PROBE_SECONDS,
        unreachable_after: float = UNREACHABLE_AFTER,
        conflict_quiet: float = CONFLICT_QUIET,
    ) -> Monitor:
        """A monitor that sees every update (for the last update's age) and tells staff through `notify`."""
        alerts = Alerts(notify, clock, unreachable_after, conflict_quiet)
        monitor = cls(application, alerts, check_database, webhook, clock, probe_seconds)
        # Group -2 runs before the flood gate (-1), which may stop an update going further.
        application.add_handler(TypeHandler(Update, monitor.saw_update), group=-2)
        return monitor

    async def saw_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Note when the last update arrived (nothing about it is kept)."""
        self.last_update = self.clock()

    def on_poll_error(self, error: TelegramError) -> None:
        """python-telegram-bot's polling error callback: one log line per change, never a traceback."""
        if isinstance(error, Conflict):
            self.alerts.seen(Trouble.CONFLICT, "Telegram answered Conflict")
        elif isinstance(error, NetworkError):
            self.alerts.seen(Trouble.UNREACHABLE, type(error).__name__)
        else:
            described = f"{type(error).__name__}: {error.message}"
            if described != self._last_poll_error:
                log.warning("polling for updates failed: %s", described)
            self._last_poll_error = described

    async def start(self, health: tuple[str, int] | None = None) -> None:
        """Start probing; with `health`, serve /healthz on that address and port."""
        if health is not None:
            self.health_server = HealthServer(self.health)
            try:
                await self.health_server.start(*health)
            except OSError as exc:
                raise ConfigError(
                    f"cannot serve /healthz on {health[0]}:{health[1]} ({exc.strerror or exc}): "
                    "choose another --health-port"
                ) from None
            log.info("/healthz on %s:%d", health[0], self.health_server.port)
        self._task = asyncio.create_task(self._probe_forever())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.health_server is not None:
            await self.health_server.close()

    async def _probe_forever(self) -> None:
        while True:
            try:
                await self.probe()
            except Exception as exc:
                log.error("monitor probe failed: %s", type(exc).__name__)
            await asyncio.sleep(self.probe_seconds)

    async def probe(self) -> None:
        """One round: the database, then Telegram (once the bot is running), then tell staff what is due."""
        await self._probe_database()
        if self.application.running:
            await self._probe_telegram()
        await self.alerts.tell()

    async def _probe_database(self) -> None:
        try:
            await self.check_database()
        except Exception as exc:
            self.alerts.seen(Trouble.DATABASE, type(exc).__name__)
        else:
            self.alerts.cleared(Trouble.DATABASE)

    async def _probe_telegram(self) -> None:
        bot = self.application.bot
        try:
            if self.webhook is None:
                await bot.get_me()
            else:
                info = await bot.get_webhook_info()
                if info.url != self.webhook:
                    self.alerts.seen(
                        Trouble.CONFLICT,
                        "the webhook was changed or removed; restart this copy "
                        "once the other is stopped, so it registers its webhook again",
                    )
                else:
                    self.alerts.cleared(Trouble.CONFLICT)
        except (NetworkError, InvalidToken) as exc:
            # InvalidToken is Telegram's answer to a revoked token as well: nothing gets through either way.
            self.alerts.seen(Trouble.UNREACHABLE, type(exc).__name__)
        except TelegramError as exc:
            log.warning("Telegram refused the probe: %s", type(exc).__name__)
            self.alerts.cleared(Trouble.UNREACHABLE)  # it answered
        else:
            self.alerts.cleared(Trouble.UNREACHABLE)

    async def health(self) -> Health:
        """/healthz: the database read now, Telegram as the last probe found it, the last update's age."""
        problems: list[str] = []
        try:
            await self.check_database()
        except Exception as exc:
            problems.append(f"database: {type(exc).__name__}")
        if not self.application.running:
            problems.append("telegram: not started yet")
        elif self.alerts.active(Trouble.UNREACHABLE):
            problems.append(f"telegram: unreachable ({self.alerts.states[Trouble.UNREACHABLE].detail})")
        if self.alerts.active(Trouble.CONFLICT):
            problems.append("telegram: another copy of the bot uses the same token")
        now = self.clock()
        age = None if self.last_update is None else round(now - self.last_update, 1)
        details: dict[str, object] = {
            "mode": "webhook" if self.webhook else "polling",
            "last_update_seconds_ago": age,
            "up_seconds": round(now - self.started, 1),
        }
        return Health(tuple(problems), details)


def health_address(args: argparse.Namespace, webhook: str | None) -> tuple[str, int] | None:
    """Where `run` serves /healthz: `--health-port` on `--listen`; with a webhook, `--port` + 1 by default."""
    port = args.health_port if args.health_port is not None else (args.port + 1 if webhook else None)
    if port is None:
        return None
    if not 0 < port < 65536 or (webhook and port == args.port):
        raise ConfigError(f"--health-port must be between 1 and 65535 and not the webhook's --port, not {port}")
    return (args.listen, port)
