"""`run` on PostgreSQL: this process is one replica of several, sharing the inbox, the leases and the work.

Updates come in through this replica's webhook endpoint (a load balancer spreads Telegram's posts over
the replicas) or, without a webhook, through the one replica elected to poll; either way they are
processed by whichever replica's workers lease their conversation. The chores (case tick, daily purge,
relays left queued by a replica that stopped, clearing old inbox keys) run on the one replica holding the
chores lock.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from telegram import Update
from telegram.ext import Application

from bot.config import ConfigError
from bot.handoff.relays import RelayQueues
from bot.ops.doctor import staff_group_problems
from bot.replicas.inbox import Inbox
from bot.replicas.leader import CHORES_LOCK, POLL_LOCK, Election
from bot.replicas.poller import Poller, pause
from bot.replicas.relaylock import RelayLocks
from bot.replicas.webhook import Receiver, start_server
from bot.replicas.workers import Workers
from bot.runtime import TICK_SECONDS
from bot.transports.telegram.app import TelegramTransport, Webhook

log = logging.getLogger(__name__)

CLEAN_SECONDS = 600.0  # how often the chores replica deletes processed updates' keys past their day


@dataclass(frozen=True)
class ReplicaSettings:
    """How a replica shares the work: BOT_LEASE_SECONDS, BOT_WORKERS, BOT_LEADER_RETRY_SECONDS."""

    lease_seconds: float = 30.0
    workers: int = 8
    leader_retry_seconds: float = 5.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ReplicaSettings:
        """The settings from the environment, each with its default; ConfigError names a bad one."""
        defaults = cls()
        lease = _number(env, "BOT_LEASE_SECONDS", defaults.lease_seconds)
        workers = int(_number(env, "BOT_WORKERS", defaults.workers))
        retry = _number(env, "BOT_LEADER_RETRY_SECONDS", defaults.leader_retry_seconds)
        return cls(lease, max(1, workers), retry)


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise ConfigError(f"{name} must be a positive number, not `{text}`")
    return value


async def serve_replica(
    application: Application,
    transport: TelegramTransport,
    stop: asyncio.Event,
    url: str,
    settings: ReplicaSettings,
    webhook: Webhook | None = None,
    poll_timeout: int = 30,
) -> None:
    """Run this replica until `stop` is set: the webhook endpoint or a try for the poll, the workers, the chores."""
    keyring = transport.conversations.keyring
    inbox = await Inbox.open(url, size=settings.workers + 4)
    try:
        relay_locks = await RelayLocks.open(url)
    except BaseException:
        await inbox.close()
        raise
    transport.handoffs.queues.guard = relay_locks.hold
    chores = Election(url, CHORES_LOCK, "the chores")
    runtime = transport.runtime
    runtime.chores_here = chores.try_lead
    tasks: list[asyncio.Task[None]] = []
    server = None
    try:
        async with application:
            await transport.register_commands(transport.conversations.flows)
            await application.start()
            try:
                for problem in await staff_group_problems(application.bot, transport.staff_chat_id):
                    log.warning("set-up: %s", problem)
            except Exception as exc:
                log.warning("set-up: the staff group could not be checked: %s", type(exc).__name__)
            workers = Workers(inbox, application, keyring, url, settings.workers, settings.lease_seconds)
            tasks.append(asyncio.create_task(workers.run(stop)))
            if webhook is not None:
                server = start_server(
                    Receiver(inbox, keyring, webhook.secret_token),
                    webhook.listen,
                    webhook.port,
                    urlsplit(webhook.url).path,
                )
                # Every replica registers the same address and secret: the last one changes nothing.
                await application.bot.set_webhook(
                    webhook.url, secret_token=webhook.secret_token, allowed_updates=Update.ALL_TYPES
                )
            else:
                poll = Election(url, POLL_LOCK, "polling")
                poller = Poller(application.bot, inbox, keyring, poll, poll_timeout, settings.leader_retry_seconds)
                tasks.append(asyncio.create_task(poller.run(stop)))
            tasks.append(asyncio.create_task(replica_chores(inbox, transport.handoffs.queues, chores, stop)))
            try:
                async with runtime.running(transport.handoffs):
                    await stop.wait()
            finally:
                if server is not None:
                    server.stop()  # no new updates here: the load balancer and Telegram's retries go elsewhere
                await asyncio.gather(*tasks, return_exceptions=True)
                if server is not None:
                    await server.close_all_connections()
                await application.stop()
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await chores.resign()
        await inbox.close()
        await relay_locks.close()


async def replica_chores(
    inbox: Inbox, queues: RelayQueues, chores: Election, stop: asyncio.Event, every: float = TICK_SECONDS
) -> None:
    """On the chores replica: send relays another replica left queued when it stopped (its drainers were
    cancelled, and only a start or a new relay of the case drains them otherwise), and delete the keys of
    updates processed more than a day ago."""
    cleaned = 0.0
    while not stop.is_set():
        await pause(stop, every)
        if stop.is_set() or not chores.leading:
            continue
        try:
            await queues.resume()  # under the relay locks: a case another replica is draining is left to it
            if time.monotonic() - cleaned >= CLEAN_SECONDS:
                cleaned = time.monotonic()
                gone = await inbox.forget_processed()
                if gone:
                    log.info("forgot %d processed update key(s)", gone)
        except Exception as exc:
            log.warning("a replica chore failed: %s", type(exc).__name__)
