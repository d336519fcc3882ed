"""The two bots under test, built as they run in production, with their state on disk.

`ours` is the real wiring (content, Store, Keyring, TelegramTransport, build_application);
`baseline` is bench/baseline. Both take either an in-process `BaseRequest` (direct mode) or the
loopback URL of the fake Bot API server (HTTP mode).
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from telegram.ext import AIORateLimiter, Application, PicklePersistence
from telegram.request import BaseRequest

from bench.baseline.bot import build_application as build_baseline_application
from bench.baseline.bot import load_menus
from bench.population import BENCH_SECRET
from bot.conversation import Conversations
from bot.flows.content import load_content
from bot.privacy.keys import Keyring
from bot.store import Store, open_store
from bot.transports.telegram.app import TelegramTransport, build_application

BotName = Literal["ours", "baseline"]
TOKEN = "123456:TEST-token_for-the-fake-server"  # the fake server's token; never a real one
STAFF_CHAT = -1001234567890
# Telegram's own 30 messages/s cap is a property of Telegram, not of the bot: it is switched off
# so the bot's own capacity is measured. The limiter's code still runs on every call.
UNLIMITED = {"overall_max_rate": 0, "group_max_rate": 0}


@dataclass
class BotUnderTest:
    """A built, initialised Application and what must be closed after it."""

    name: BotName
    application: Application
    transport: TelegramTransport | None = None
    store: Store | None = None

    async def close(self) -> PickleCost | None:
        """Shut down; for the baseline, also measure what its persistence costs (see PickleCost)."""
        persistence = self.application.persistence
        cost = None
        if isinstance(persistence, PicklePersistence):
            writes = await _count_writes(self.application)
            started = time.perf_counter()
            await persistence.flush()
            cost = PickleCost(writes, (time.perf_counter() - started) * 1000)
            # The writes were counted and one was timed; the rest would only repeat it, for minutes at
            # 100k sessions, so shutdown is left to write the file once.
            persistence.on_flush = True
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()
        if self.store is not None:
            await self.store.close()
        if self.name == "ours":
            gc.unfreeze()  # the next bot in this process starts with an ordinary heap
        return cost


@dataclass(frozen=True, slots=True)
class PickleCost:
    """The baseline's deferred cost: PTB's PicklePersistence with the examples' defaults (on_flush=False)
    rewrites the whole file for each user whose conversation, user_data or chat_data changed, every
    60 s. `writes` is how many rewrites the run's users cause; `write_ms` is one rewrite, timed."""

    writes: int
    write_ms: float


async def _count_writes(application: Application) -> int:
    """Run PTB's own update_persistence with the file write replaced by a counter."""
    count = 0
    write = PicklePersistence._dump_singlefile

    def counted(self: PicklePersistence) -> None:
        nonlocal count
        count += 1

    PicklePersistence._dump_singlefile = counted  # type: ignore[method-assign]
    try:
        await application.update_persistence()
    finally:
        PicklePersistence._dump_singlefile = write  # type: ignore[method-assign]
    return count


async def start_bot(
    name: BotName,
    state: Path,
    flows_dir: Path,
    locales_dir: Path,
    request: BaseRequest | None = None,
    api_url: str = "http://127.0.0.1:9/bot",
    persist_interval: float = 60,
) -> BotUnderTest:
    """Build and initialise a bot: what 'time to start' measures (imports excluded).

    `persist_interval` is how often the baseline's PicklePersistence writes (PTB's default, 60 s).
    """
    if name == "ours":
        flows = load_content(flows_dir, locales_dir)
        store = await open_store(state)
        transport = TelegramTransport(Conversations(flows, store, Keyring(BENCH_SECRET)), STAFF_CHAT)
        application = build_application(
            transport,
            TOKEN,
            api_url,
            api_url.replace("/bot", "/file/bot"),
            AIORateLimiter(**UNLIMITED),
            request=request,
        )
        await application.initialize()
        gc.freeze()  # as `python -m bot run` does after start-up, so the run measures the bot as deployed
        return BotUnderTest(name, application, transport, store)
    application = build_baseline_application(load_menus(flows_dir), TOKEN, state, api_url, request, persist_interval)
    await application.initialize()
    return BotUnderTest(name, application)
