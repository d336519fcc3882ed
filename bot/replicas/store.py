"""The PostgreSQL store for replicas: a turn written while an update is processed also marks it done.

Both happen in one transaction, so a replica that dies after the commit leaves the update done (a
replica taking the conversation over skips it) and one that dies before leaves both undone (the update
is processed again from the same state). A turn whose update is already done is not stored at all: a
replica whose lease ran out while it worked loses the race instead of stepping the conversation twice.
"""

from __future__ import annotations

from bot.replicas.entry import CURRENT, UpdateTaken
from bot.replicas.inbox import FINISH
from bot.store.base import TurnWrite
from bot.store.postgres import PostgresStore, _turn_statement


class ReplicaStore(PostgresStore):
    """PostgresStore whose turn writes consume the update being processed (bot/replicas/entry.py)."""

    async def write_turn(self, write: TurnWrite) -> None:
        """The turn's state, counters and case touch, and the update marked done, in one transaction."""
        entry = CURRENT.get()
        if entry is None or entry.consumed:
            await super().write_turn(write)
            return
        query, values = _turn_statement(write)
        async with self._connection() as connection, connection.transaction():
            finished = await connection.execute(FINISH, (entry.transport, entry.update_id))
            if finished.rowcount != 1:
                raise UpdateTaken()
            await connection.execute(query, values)
        entry.consumed = True
        if write.state is None:
            self.note_deletion()
