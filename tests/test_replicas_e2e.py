"""Several replicas of `python -m bot run` on one PostgreSQL: real processes, the fake Bot API in front.

Webhooks are spread over the replicas by the fake's round-robin poster (some posted twice, as Telegram
retries); every update is answered exactly once and each user's replies come in order, also when a
replica is killed mid-run; with long polling, the elected poller's death hands the poll to another.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import psycopg
import pytest

from bot.replicas.leader import POLL_LOCK
from tests.fakebotapi import FakeBotAPI
from tests.test_postgres_run import operator_env
from tests.test_telegram_e2e import STAFF

pytestmark = pytest.mark.e2e

PUBLIC = "https://bot.example.org/telegram"  # what the load balancer answers on; never reached in the tests
GREETING, MENU, TESTING = "Hi, I can help", "What can I help with?", "What would you like to know?"
# Each input's reply depends on the one before (typing 1 means something only on the main menu), so a
# message processed out of order, twice or not at all shows in the replies.
INPUTS = ("/start", "1", "/menu", "1", "/menu", "1")
EXPECTED = (GREETING, MENU, TESTING, MENU, TESTING, MENU, TESTING)  # /start greets, then shows the menu
USERS = tuple(880_001 + n for n in range(6))
LEASE_SECONDS = 2.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Replica:
    process: asyncio.subprocess.Process
    port: int
    log: Path
    _log_file: IO[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram"

    @property
    def holder(self) -> str:
        """How its leases and its connections name it (host:pid:…)."""
        return f":{self.process.pid}:"


@asynccontextmanager
async def replicas(
    api: FakeBotAPI, tmp_path: Path, pg_url: str, count: int, *, webhook: bool = True
) -> AsyncIterator[list[Replica]]:
    """`count` replicas of `python -m bot run` on one database; stopped (SIGTERM) at the end, killed if need be."""
    env = operator_env(
        tmp_path,
        pg_url,
        TELEGRAM_BOT_TOKEN=api.token,
        STAFF_CHAT_ID=str(STAFF),
        TELEGRAM_API_URL=api.api_url,
        BOT_LEASE_SECONDS=str(LEASE_SECONDS),
        # Fewer workers than users per replica: with every reply held, two replicas cannot lease every
        # conversation between them, so each replica holds some.
        BOT_WORKERS="2",
        BOT_LEADER_RETRY_SECONDS="0.3",
    )
    started: list[Replica] = []
    try:
        for number in range(count):
            port = free_port()
            args = ["--webhook", PUBLIC, "--port", str(port), "--health-port", str(free_port())] if webhook else []
            log = tmp_path / f"replica-{number}.log"
            log_file = log.open("wb")
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                "--no-watch",
                *args,
                cwd=tmp_path,
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log_file,
            )
            started.append(Replica(process, port, log, log_file))
        if webhook:
            # A replica registers the webhook once its endpoint listens.
            await api.wait_for_calls("setWebhook", count, timeout=60)
        yield started
    finally:
        for replica in started:
            if replica.process.returncode is None:
                replica.process.send_signal(signal.SIGTERM)
        for replica in started:
            try:
                await asyncio.wait_for(replica.process.wait(), 30)
            except TimeoutError:
                replica.process.kill()
                await replica.process.wait()
            replica._log_file.close()


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    """Wait until `check()` holds, looking again as soon as the last look returns; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


async def scalar(url: str, query: str, *values: object) -> object:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
        row = await (await connection.execute(query, values)).fetchone()
    return row[0] if row else None


def send_all(api: FakeBotAPI) -> None:
    """Every user sends their inputs, interleaved with the others' as they would arrive."""
    for text in INPUTS:
        for user in USERS:
            api.user_sends_text(user, text)


def replies(api: FakeBotAPI, user: int) -> list[str]:
    """What the user was sent, each reduced to the expected reply it is (or to itself)."""
    return [next((e for e in (GREETING, MENU, TESTING) if e in text), text) for text in api.texts_to(user)]


def collapsed(texts: list[str]) -> list[str]:
    """The replies with a reply sent twice in a row counted once."""
    return [text for n, text in enumerate(texts) if n == 0 or texts[n - 1] != text]


def logs_of(started: list[Replica]) -> str:
    return "\n".join(replica.log.read_text(errors="replace") for replica in started)


async def test_three_replicas_answer_every_update_exactly_once_and_each_users_replies_in_order(
    tmp_path: Path, pg_url: str
) -> None:
    async with FakeBotAPI() as api, replicas(api, tmp_path, pg_url, 3) as started:
        api.replicas = [replica.url for replica in started]
        api.repost_every = 4
        send_all(api)
        total = len(USERS) * len(INPUTS)
        await api.wait_for(
            lambda: all(len(api.texts_to(user)) >= len(EXPECTED) for user in USERS), 90, "every user's replies"
        )
        await wait_until(
            lambda: _equals(scalar(pg_url, "SELECT count(*) FROM inbox WHERE body IS NOT NULL"), 0),
            30,
            "every update marked done",
        )
        assert len(api.reposted) >= total // 4 - 1
        for user in USERS:
            assert replies(api, user) == list(EXPECTED), user
        stored = await scalar(pg_url, "SELECT count(*) FROM inbox")
        assert stored == total  # each update once, retries included
    assert all(r.process.returncode == 0 for r in started), logs_of(started)
    log = logs_of(started)
    assert all(str(user) not in log for user in USERS) and api.token not in log
    assert "Traceback" not in log, log


async def _equals(value: Awaitable[object], wanted: object) -> bool:
    return await value == wanted


async def test_a_replica_killed_mid_run_leaves_its_conversations_to_another_within_the_lease_and_nothing_is_lost(
    tmp_path: Path, pg_url: str
) -> None:
    async with FakeBotAPI() as api, replicas(api, tmp_path, pg_url, 3) as started:
        api.replicas = [replica.url for replica in started]
        api.repost_every = 5
        api.hold("sendMessage")  # replies wait in flight, so the victim dies between a turn and its reply
        victim = started[0]
        send_all(api)
        held_by_victim = "SELECT count(*) FROM leases WHERE holder LIKE %s"
        await wait_until(
            lambda: _positive(scalar(pg_url, held_by_victim, f"%{victim.holder}%")), 60, "the victim holding a lease"
        )
        victim.process.send_signal(signal.SIGKILL)
        await victim.process.wait()
        killed_at = time.monotonic()
        orphaned = await scalar(pg_url, held_by_victim, f"%{victim.holder}%")
        api.release("sendMessage")
        # Its leases run out and other replicas take those conversations up where they were.
        await wait_until(
            lambda: _equals(scalar(pg_url, held_by_victim, f"%{victim.holder}%"), 0),
            2 * LEASE_SECONDS + 5,
            "the victim's conversations taken over",
        )
        taken_over_after = time.monotonic() - killed_at
        await api.wait_for(
            lambda: all(len(collapsed(replies(api, user))) >= len(EXPECTED) for user in USERS),
            60,
            "every user's replies after the kill",
        )
        await wait_until(
            lambda: _equals(scalar(pg_url, "SELECT count(*) FROM inbox WHERE body IS NOT NULL"), 0),
            30,
            "every update marked done",
        )
        for user in USERS:
            assert collapsed(replies(api, user)) == list(EXPECTED), user
        # A reply goes out twice only where the victim's own had already reached Telegram (here: was held
        # in flight) when it died, before it could mark the update done.
        doubled = sum(len(replies(api, user)) - len(EXPECTED) for user in USERS)
        assert 0 <= doubled <= 2 * (orphaned or 0)  # /start's two messages
    survivors = started[1:]
    assert all(r.process.returncode == 0 for r in survivors), logs_of(survivors)
    assert isinstance(orphaned, int) and orphaned >= 1
    assert taken_over_after >= LEASE_SECONDS * 0.5  # not before its lease ran out (renewed every third of it)
    assert "Traceback" not in logs_of(survivors)


async def _positive(value: Awaitable[object]) -> bool:
    found = await value
    return isinstance(found, int) and found > 0


async def poll_leader(url: str) -> str | None:
    """The application name of the connection holding the poll lock (it names its replica's pid)."""
    found = await scalar(
        url,
        "SELECT a.application_name FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = %s AND l.objid::bigint = %s",
        POLL_LOCK >> 32,
        POLL_LOCK & 0xFFFFFFFF,
    )
    return None if found is None else str(found)


async def test_when_the_polling_replica_dies_another_takes_the_poll_over(tmp_path: Path, pg_url: str) -> None:
    async with FakeBotAPI() as api, replicas(api, tmp_path, pg_url, 2, webhook=False) as started:
        user = USERS[0]
        api.user_sends_text(user, "/start")
        await api.wait_for_text(user, MENU, timeout=60)
        await wait_until(lambda: _not_none(poll_leader(pg_url)), 30, "a poll leader")
        leader_name = await poll_leader(pg_url)
        leader = next(r for r in started if r.holder in f"{leader_name}:")
        follower = next(r for r in started if r is not leader)
        leader.process.send_signal(signal.SIGKILL)
        await leader.process.wait()
        api.user_sends_text(user, "1")
        await api.wait_for_text(user, TESTING, timeout=60)
        new_leader = await poll_leader(pg_url)
        assert new_leader is not None and follower.holder in f"{new_leader}:"
        assert replies(api, user) == [GREETING, MENU, TESTING]
    assert follower.process.returncode == 0, logs_of([follower])


async def _not_none(value: Awaitable[object]) -> bool:
    return await value is not None


async def test_cases_open_relay_and_close_once_each_while_the_replicas_share_users_and_staff_topics(
    tmp_path: Path, pg_url: str
) -> None:
    people = USERS[:3]
    async with FakeBotAPI() as api, replicas(api, tmp_path, pg_url, 3) as started:
        api.replicas = [replica.url for replica in started]
        api.repost_every = 3
        for user in people:
            api.user_sends_text(user, "/human")
        await api.wait_for_calls("createForumTopic", len(people), timeout=60)
        # Each case's note in its topic says its topic is known: words there now reach the user.
        await api.wait_for(lambda: len({m.get("message_thread_id") for m in api.sent_to(STAFF)} - {None}) >= 3, 60)
        for user in people:
            api.user_sends_text(user, f"user words from {user}")
        copies = await api.wait_for_calls("copyMessage", len(people), chat_id=STAFF, timeout=60)
        topic_of = {int(c.params["from_chat_id"]): int(c.params["message_thread_id"]) for c in copies}
        for user in people:
            api.group_message(STAFF, f"staff words for {user}", thread_id=topic_of[user])
        for user in people:
            await api.wait_for_text(user, f"staff words for {user}", timeout=60)
        for user in people:
            api.group_message(STAFF, "/close", thread_id=topic_of[user])
        for user in people:
            await api.wait_for_text(user, "The chat with our team has ended", timeout=60)
        await wait_until(
            lambda: _equals(scalar(pg_url, "SELECT count(*) FROM inbox WHERE body IS NOT NULL"), 0), 30, "all done"
        )
        assert len(api.calls_to("createForumTopic")) == len(people)  # one topic per case, whoever processed it
        copies = api.calls_to("copyMessage", STAFF)
        assert sorted(c.params["from_chat_id"] for c in copies) == sorted(people)  # each message copied once
        for user in people:
            assert sum(f"staff words for {user}" in t for t in api.texts_to(user)) == 1
            assert sum("The chat with our team has ended" in t for t in api.texts_to(user)) == 1
            assert [c.params["message_thread_id"] for c in copies if c.params["from_chat_id"] == user] == [
                topic_of[user]
            ]
        assert api.reposted
    assert all(r.process.returncode == 0 for r in started), logs_of(started)
