"""The PostgreSQL store for replicas: the turn an update causes records, in its own commit, that it was stepped.

The turn's write also notes on the update's inbox row whose state it stepped and the state it started
from. A replica that dies before that commit leaves nothing: the update is processed again from scratch.
One that dies after it (while replying) leaves the update pending but stepped: the replica taking the
conversation over reads the state the turn started from, steps the same input to the same replies,
sends them, and stores nothing again. So a conversation is never stepped twice and no reply is lost;
a reply may go out twice only when a replica dies between sending it and marking the update done.
Copies to and from staff are stored relays (an outbox): the update counts those it queued in the same
commit, so a re-run queues none of them again.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from bot.engine import State
from bot.replicas.entry import CURRENT, UpdateTaken
from bot.store.base import Turn, TurnWrite
from bot.store.postgres import PostgresStore
from bot.store.postgres.turns import turn_statement

log = logging.getLogger(__name__)

# Claims the update for this turn (only if pending and not stepped yet) and keeps the state it starts from.
STEP = (
    "UPDATE inbox SET stepped_key = %(key)s, before = (SELECT json_build_array(node, locale, back, day, nation, "
    "misses)::text FROM sessions WHERE key = %(key)s) "
    "WHERE transport = %(transport)s AND update_id = %(update_id)s AND body IS NOT NULL AND stepped_key IS NULL"
)
STEPPED = "SELECT stepped_key FROM inbox WHERE transport = %s AND update_id = %s AND body IS NOT NULL"
# The update's count of queued relays, locked for this transaction (absent once the update is done).
RELAYED = "SELECT relayed FROM inbox WHERE transport = %s AND update_id = %s AND body IS NOT NULL FOR UPDATE"
COUNT_RELAY = "UPDATE inbox SET relayed = relayed + 1 WHERE transport = %s AND update_id = %s"
ALREADY_QUEUED = 0  # add_relay's answer for a relay an earlier run of the update queued (ids start at 1)
BEFORE = "SELECT before FROM inbox WHERE transport = %s AND update_id = %s AND body IS NOT NULL AND stepped_key = %s"


def _state(before: str | None) -> State | None:
    if before is None:
        return None
    node, locale, back, day, nation, misses = json.loads(before)
    return State(node, locale, tuple(back.split(" ")) if back else (), int(day), nation, int(misses))


class ReplicaStore(PostgresStore):
    """PostgresStore whose turns, while an update is processed (bot/replicas/entry.py), are tied to it."""

    async def load_turn(self, key: bytes) -> Turn:
        """As stored; but re-running an update whose turn was stored, the state that turn started from."""
        turn = await super().load_turn(key)
        entry = CURRENT.get()
        if entry is None or entry.consumed:
            return turn
        rows = await self._rows(BEFORE, (entry.transport, entry.update_id, key))
        if not rows:
            return turn
        entry.replay = True
        log.info("re-running an update whose turn was stored by a replica that stopped: replying from that turn")
        return Turn(_state(rows[0][0]), turn.case)

    async def add_relay(self, alias: str, body: bytes, limit: int, active: int | None = None) -> int | None:
        """As stored; but while an update is processed, its n-th relay is queued once however often it runs."""
        entry = CURRENT.get()
        if entry is None:
            return await super().add_relay(alias, body, limit, active)
        number, entry.relays = entry.relays, entry.relays + 1
        async with self._connection() as connection, connection.transaction():
            row = await (await connection.execute(RELAYED, (entry.transport, entry.update_id))).fetchone()
            if row is not None and int(row[0]) > number:
                return ALREADY_QUEUED  # queued by a run of this update on a replica that stopped
            # No row: the update is done. A task a handler started (it inherits CURRENT) may queue after
            # that; its relay is queued as any other, not dropped.
            queued = await self._queue_relay(connection, alias, body, limit, active)
            if queued is not None and row is not None:
                await connection.execute(COUNT_RELAY, (entry.transport, entry.update_id))
            return queued

    async def write_turn(self, write: TurnWrite) -> None:
        """The turn and the update's stepped mark in one transaction; nothing when re-running a stepped update."""
        entry = CURRENT.get()
        if entry is None or entry.consumed:
            await super().write_turn(write)
            return
        query, values = turn_statement(write)
        marks: dict[str, Any] = {"key": write.key, "transport": entry.transport, "update_id": entry.update_id}
        async with self._connection() as connection, connection.transaction():
            stepped = await connection.execute(STEP, marks)
            if stepped.rowcount == 1:
                await connection.execute(query, values)
            else:
                row = await (await connection.execute(STEPPED, (entry.transport, entry.update_id))).fetchone()
                if row is None or row[0] is None or bytes(row[0]) != write.key:
                    raise UpdateTaken()  # processed to the end elsewhere, or by another turn
                # A re-run of a stepped update: its state is stored already; only its replies are left.
        entry.consumed = True
        if write.state is None and stepped.rowcount == 1:
            self.note_deletion()
