"""The replicas' inbox on a real PostgreSQL: a webhook update is acknowledged only once stored, and stored
once; bad secrets are refused; bodies are sealed; leases give a conversation to one claimer at a time."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import psycopg
import pytest

from bot.engine import State
from bot.handoff.cases import Case
from bot.privacy.keys import Keyring
from bot.replicas.entry import CURRENT, InboxEntry, UpdateTaken
from bot.replicas.inbox import Inbox
from bot.replicas.routing import TRANSPORT, seal_update, unseal_update
from bot.replicas.store import ReplicaStore
from bot.replicas.webhook import SECRET_HEADER, Receiver, bound_port, start_server
from bot.store.base import TurnWrite
from tests.pg import Cluster

pytestmark = pytest.mark.e2e

KEYRING = Keyring(b"a-test-secret-that-is-long-enough-4F9x")
SECRET = KEYRING.token("telegram-webhook")
NAME, TEXT, CHAT = "Zebedee Plantagenet", "my unmistakable planted words", 777000123


@dataclass
class Endpoint:
    url: str
    inbox: Inbox
    database: str


@pytest.fixture
async def endpoint(pg_url: str) -> AsyncIterator[Endpoint]:
    await (await ReplicaStore.open(pg_url)).close()  # the schema, as a replica's start makes it
    inbox = await Inbox.open(pg_url)
    server = start_server(Receiver(inbox, KEYRING, SECRET), "127.0.0.1", 0, "/hook")
    try:
        yield Endpoint(f"http://127.0.0.1:{bound_port(server)}/hook", inbox, pg_url)
    finally:
        server.stop()
        await server.close_all_connections()
        await inbox.close()


def update(update_id: int, text: str = TEXT, chat_id: int = CHAT) -> dict[str, Any]:
    sender = {"id": chat_id, "is_bot": False, "first_name": NAME, "username": "zebedee_p"}
    chat = {"id": chat_id, "type": "private", "first_name": NAME, "username": "zebedee_p"}
    message = {"message_id": update_id, "date": int(time.time()), "chat": chat, "from": sender, "text": text}
    return {"update_id": update_id, "message": message}


async def post(url: str, body: dict[str, Any], secret: str | None = SECRET) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with aiohttp.ClientSession() as session, session.post(url, json=body, headers=headers) as response:
        return response.status


async def rows(url: str, query: str) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
        cursor = await connection.execute(query)
        return await cursor.fetchall() if cursor.description else []


async def test_an_update_posted_twice_is_stored_once_and_acknowledged_both_times(endpoint: Endpoint) -> None:
    assert await post(endpoint.url, update(10)) == 200
    assert await post(endpoint.url, update(10)) == 200  # Telegram's retry after a lost answer
    assert await endpoint.inbox.pending() == 1
    (stored,) = await rows(endpoint.database, "SELECT transport, update_id, conv FROM inbox")
    assert stored == (TRANSPORT, 10, KEYRING.user_key(TRANSPORT, CHAT))  # the user's own pseudonymous key


async def test_a_processed_update_posted_again_is_not_stored_again(endpoint: Endpoint) -> None:
    assert await post(endpoint.url, update(11)) == 200
    assert await endpoint.inbox.finish(TRANSPORT, 11)
    assert await post(endpoint.url, update(11)) == 200
    assert await endpoint.inbox.pending() == 0


async def test_a_wrong_or_missing_secret_is_refused_with_403_and_nothing_is_stored(endpoint: Endpoint) -> None:
    assert await post(endpoint.url, update(12), secret="not-the-secret") == 403
    assert await post(endpoint.url, update(12), secret=None) == 403
    assert await post(endpoint.url, update(12), secret=SECRET[:-1]) == 403
    assert await endpoint.inbox.pending() == 0


async def test_an_update_the_database_cannot_store_is_answered_500_then_taken_on_the_retry(
    endpoint: Endpoint,
) -> None:
    await rows(endpoint.database, "ALTER TABLE inbox RENAME TO inbox_away")
    assert await post(endpoint.url, update(13)) == 500  # Telegram retries it
    await rows(endpoint.database, "ALTER TABLE inbox_away RENAME TO inbox")
    assert await post(endpoint.url, update(13)) == 200
    assert await endpoint.inbox.pending() == 1


async def test_the_stored_update_is_sealed_so_the_dump_holds_no_name_text_or_chat_id(
    endpoint: Endpoint, pg_cluster: Cluster
) -> None:
    assert await post(endpoint.url, update(14)) == 200
    dump = pg_cluster.dump(endpoint.database)
    assert "COPY public.inbox" in dump
    for planted in (NAME, TEXT, "zebedee_p", str(CHAT)):
        assert planted not in dump and planted.encode().hex() not in dump, planted
    pending = await endpoint.inbox.next(KEYRING.user_key(TRANSPORT, CHAT))
    assert pending is not None
    opened = unseal_update(pending.body, KEYRING)
    assert opened is not None and json.loads(opened)["message"]["text"] == TEXT
    assert unseal_update(pending.body, Keyring(b"another-secret-entirely-long-enough-7Qz")) is None


async def add(inbox: Inbox, update_id: int, chat_id: int) -> bytes:
    conv = KEYRING.user_key(TRANSPORT, chat_id)
    await inbox.add(TRANSPORT, update_id, conv, seal_update(b"{}", KEYRING))
    return conv


async def test_claimers_racing_never_hold_the_same_conversation(endpoint: Endpoint) -> None:
    inbox = endpoint.inbox
    convs = {await add(inbox, 100 + n, 5000 + n % 4) for n in range(12)}  # 4 conversations, 3 updates each
    others = [await Inbox.open(endpoint.database, size=2) for _ in range(8)]
    try:
        claimed = await asyncio.gather(*(other.claim(f"replica-{n}", 30) for n, other in enumerate(others)))
        claimed += await asyncio.gather(*(other.claim(f"late-{n}", 30) for n, other in enumerate(others)))
    finally:
        for other in others:
            await other.close()
    held = [conv for conv in claimed if conv is not None]
    assert sorted(held) == sorted(convs)  # each conversation once, and every one of them
    leases = await rows(endpoint.database, "SELECT count(*), count(DISTINCT holder) FROM leases")
    assert leases == [(4, 4)]


async def test_an_expired_lease_is_taken_over_and_its_old_holder_cannot_renew_it(endpoint: Endpoint) -> None:
    inbox = endpoint.inbox
    conv = await add(inbox, 200, 6000)
    assert await inbox.claim("dying", 0.5) == conv
    assert await inbox.claim("other", 30) is None  # held: nobody else gets it
    started = time.monotonic()
    taken = None
    while taken is None and time.monotonic() - started < 10:
        taken = await inbox.claim("other", 30)
        await asyncio.sleep(0.05)  # a lease runs out with the clock: there is no event to wait on
    assert taken == conv and time.monotonic() - started >= 0.4
    assert not await inbox.renew(conv, "dying", 30)
    assert await inbox.renew(conv, "other", 30)
    await inbox.release(conv, "other")
    assert await inbox.claim("third", 30) == conv  # given back with its update still pending


async def test_a_stored_turn_marks_its_update_stepped_and_a_re_run_replies_from_the_same_state_without_storing(
    endpoint: Endpoint,
) -> None:
    store = await ReplicaStore.open(endpoint.database)
    try:
        conv = await add(endpoint.inbox, 300, 7000)
        first = State(node="main", locale="en", back=(), day=740_000, nation=None, misses=0)
        await store.write_turn(TurnWrite(conv, first))  # the state before the update
        stepped = replace(first, node="testing", back=("main",))
        entry = InboxEntry(TRANSPORT, 300)
        token = CURRENT.set(entry)
        try:
            assert (await store.load_turn(conv)).state == first
            await store.write_turn(TurnWrite(conv, stepped, (("node", "testing"),), 740_000))
            await store.write_turn(TurnWrite(conv, stepped))  # a second write in the same run: a plain one
        finally:
            CURRENT.reset(token)
        assert entry.consumed and not entry.replay
        # The replica dies before marking the update done; another re-runs it.
        again = InboxEntry(TRANSPORT, 300)
        token = CURRENT.set(again)
        try:
            assert (await store.load_turn(conv)).state == first  # the same input meets the same state
            await store.write_turn(TurnWrite(conv, replace(stepped, misses=9), (("node", "testing"),), 740_000))
        finally:
            CURRENT.reset(token)
        assert again.replay and again.consumed
        assert await store.load(conv) == stepped  # stepped once
        assert await store.counters(740_000, 740_000) == [(740_000, "node", "testing", 1)]  # counted once
        assert await endpoint.inbox.pending() == 1  # still to be marked done once the replies are sent
        assert await endpoint.inbox.finish(TRANSPORT, 300)
        late = InboxEntry(TRANSPORT, 300)  # a replica whose lease ran out long ago
        token = CURRENT.set(late)
        try:
            assert (await store.load_turn(conv)).state == stepped
            with pytest.raises(UpdateTaken):
                await store.write_turn(TurnWrite(conv, first))
        finally:
            CURRENT.reset(token)
        assert await store.load(conv) == stepped
    finally:
        await store.close()


async def test_a_re_run_update_queues_none_of_the_copies_to_staff_its_first_run_queued(endpoint: Endpoint) -> None:
    store = await ReplicaStore.open(endpoint.database)
    try:
        conv = await add(endpoint.inbox, 400, 7100)
        await store.insert_case(Case("K7Q2", conv, b"sealed", "en", (), opened=1, active=1))

        async def run(copies: int) -> list[int | None]:
            token = CURRENT.set(InboxEntry(TRANSPORT, 400))
            try:
                return [await store.add_relay("K7Q2", f"copy {n}".encode(), 20, active=5) for n in range(copies)]
            finally:
                CURRENT.reset(token)

        first = await run(1)  # the replica queues the first copy, then dies before the second
        again = await run(2)  # another replica runs the whole update again
        assert first[0] and again[0] == 0 and again[1]  # the first copy was already queued: not again
        assert [body for _, body in await store.relays("K7Q2")] == [b"copy 0", b"copy 1"]
        assert await endpoint.inbox.finish(TRANSPORT, 400)
        assert await store.add_relay("K7Q2", b"outside any update", 20)  # a relay not caused by an update
        assert len(await store.relays("K7Q2")) == 3
    finally:
        await store.close()
