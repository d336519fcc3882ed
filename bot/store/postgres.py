"""The PostgreSQL backend (psycopg 3, async): the same tables and promises as SQLite, for several replicas.

Stored per session, as in SQLite: key, node, locale, back-stack, last-seen day, nation, misses. Nothing else.

Every statement is sent unprepared (`prepare_threshold=None`), so the store works behind PgBouncer in
transaction mode, where consecutive statements may reach different server connections. Connections run
in autocommit, and each change is one statement where it can be (data-modifying CTEs), so a turn's write
is one round trip and atomic on its own; the few that need two statements run in one transaction.
Concurrent changes to one case are settled by the server: a claim is `UPDATE … WHERE claimed IS NULL`,
which a second claimer re-checks after the first commits, so exactly one wins on any number of replicas.

Deleted rows leave every query (and `pg_dump`) the moment their statement commits; the bytes of a
deleted row stay in the table's data file until VACUUM reclaims the space and later writes reuse it, and
in the WAL until the server recycles the segment. A VACUUM runs a second after deletions; the server's own disk
(encrypted, see docs/deploy.md) covers the rest, as the sealed case link does for the address itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from bot.engine import State
from bot.handoff.cases import Case
from bot.privacy.logredact import redact_url
from bot.store.base import CASE_COLUMNS, DAILY_DAYS, CounterRow, Store, StoreError, Turn, TurnWrite

__all__ = ["MIGRATIONS", "SCHEMES", "PostgresStore", "is_postgres_url"]

SCHEMES = ("postgresql://", "postgres://")

# Numbered migrations, applied in order and tracked in the schema_version table. Append; never edit.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE sessions (
        key bytea PRIMARY KEY,
        node text,
        locale text,
        back text NOT NULL DEFAULT '',
        day integer NOT NULL,
        nation text,
        misses integer NOT NULL DEFAULT 0
    );
    CREATE INDEX sessions_day ON sessions (day);
    CREATE TABLE counters (
        day integer NOT NULL,
        kind text NOT NULL,
        name text NOT NULL,
        count bigint NOT NULL,
        PRIMARY KEY (day, kind, name)
    );
    CREATE TABLE monthly_counters (
        month integer NOT NULL,
        kind text NOT NULL,
        name text NOT NULL,
        count bigint NOT NULL,
        PRIMARY KEY (month, kind, name)
    );
    CREATE TABLE secret_check (
        id integer PRIMARY KEY CHECK (id = 1),
        value bytea NOT NULL
    );
    CREATE TABLE cases (
        alias text PRIMARY KEY,
        user_key bytea NOT NULL UNIQUE,
        sealed_chat bytea NOT NULL,
        locale text NOT NULL,
        path text NOT NULL DEFAULT '',
        opened bigint NOT NULL,
        active bigint NOT NULL,
        thread_id bigint UNIQUE,
        claimed bigint,
        staff_alias text,
        nudged boolean NOT NULL DEFAULT false
    );
    CREATE TABLE relays (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        alias text NOT NULL,
        body bytea NOT NULL
    );
    CREATE INDEX relays_alias ON relays (alias, id);
    CREATE TABLE closed_topics (
        thread_id bigint PRIMARY KEY,
        day integer NOT NULL,
        user_key bytea NOT NULL
    );
    CREATE INDEX closed_topics_user ON closed_topics (user_key);
    """,
    # Users staff blocked, by key, until a day (the alias is the case alias staff blocked them from).
    """
    CREATE TABLE blocks (
        user_key bytea PRIMARY KEY,
        alias text,
        until_day integer
    );
    CREATE INDEX blocks_alias ON blocks (alias);
    """,
    # Replicas: each update is stored (sealed) before it is acknowledged, and processed by whichever replica
    # leases its conversation. The turn it causes records, in its own commit, whose state it stepped and
    # from what (stepped_key, before), so a replica re-running it after a crash replies without stepping
    # again. A processed update keeps only its key for a day, so a late retry of it is not processed again.
    """
    CREATE TABLE inbox (
        transport text NOT NULL,
        update_id bigint NOT NULL,
        conv bytea,
        body bytea,
        stepped_key bytea,
        before text,
        received timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (transport, update_id)
    );
    CREATE INDEX inbox_pending ON inbox (conv, update_id) WHERE body IS NOT NULL;
    CREATE INDEX inbox_received ON inbox (received);
    CREATE TABLE leases (
        conv bytea PRIMARY KEY,
        holder text NOT NULL,
        until timestamptz NOT NULL
    );
    """,
)

# Replicas starting together take this lock while they migrate, so one migrates and the others wait.
MIGRATION_LOCK = 7_310_221_405
POOL_MIN, POOL_MAX = 1, 10
CONNECT_TIMEOUT = 10  # seconds
VACUUM_DELAY = 1.0  # seconds between a deletion and the VACUUM that reclaims its row's space
PEOPLES_TABLES = ("sessions", "cases", "relays", "closed_topics", "blocks")
PURGE_BATCH = 2_000  # sessions deleted per statement; other turns go on between statements
# The server settings that keep people's data out of its log (docs/deploy.md); `doctor` compares them.
PRIVATE_LOG_SETTINGS = {
    "log_statement": "none",
    "log_min_duration_statement": "-1",
    "log_error_verbosity": "terse",
    "log_min_error_statement": "panic",
    "log_parameter_max_length_on_error": "0",
}

log = logging.getLogger(__name__)

_CASE_SELECT = ", ".join(CASE_COLUMNS)

# A day ordinal (Python's date.toordinal) as a date, then as the month number base.month_of gives.
_MONTH_OF_DAY = (
    "(extract(year FROM date '0001-01-01' + (day - 1))::int * 12 "
    "+ extract(month FROM date '0001-01-01' + (day - 1))::int - 1)"
)

LOAD_TURN = (
    "SELECT s.node, s.locale, s.back, s.day, s.nation, s.misses, "
    + ", ".join(f"c.{column}" for column in CASE_COLUMNS)
    + " FROM (SELECT %(key)s::bytea AS key) AS wanted LEFT JOIN sessions AS s ON s.key = wanted.key "
    "LEFT JOIN cases AS c ON c.user_key = wanted.key"
)
UPSERT_SESSION = (
    "INSERT INTO sessions (key, node, locale, back, day, nation, misses) "
    "VALUES (%(key)s, %(node)s, %(locale)s, %(back)s, %(day)s, %(nation)s, %(misses)s) "
    "ON CONFLICT (key) DO UPDATE SET node = excluded.node, locale = excluded.locale, back = excluded.back, "
    "day = excluded.day, nation = excluded.nation, misses = excluded.misses"
)
# Events of one turn may repeat; ON CONFLICT may change a row once per statement, so they are grouped first.
COUNT_EVENTS = (
    "INSERT INTO counters (day, kind, name, count) "
    "SELECT %(day)s, kind, name, count(*) FROM unnest(%(kinds)s::text[], %(names)s::text[]) AS e(kind, name) "
    "GROUP BY kind, name "
    "ON CONFLICT (day, kind, name) DO UPDATE SET count = counters.count + excluded.count"
)
TOUCH_CASE = "UPDATE cases SET active = %(now)s WHERE alias = %(alias)s"
ROLL_UP = (
    "WITH gone AS (DELETE FROM counters WHERE day < %(before)s RETURNING day, kind, name, count), "
    "added AS (INSERT INTO monthly_counters (month, kind, name, count) "
    f"SELECT {_MONTH_OF_DAY} AS month, kind, name, sum(count) FROM gone GROUP BY 1, kind, name "
    "ON CONFLICT (month, kind, name) DO UPDATE SET count = monthly_counters.count + excluded.count) "
    "SELECT count(*) FROM gone"
)
SET_SECRET_CHECK = (
    "INSERT INTO secret_check (id, value) VALUES (1, %s) ON CONFLICT (id) DO UPDATE SET value = excluded.value"
)


def is_postgres_url(where: object) -> bool:
    """Whether `where` names a PostgreSQL database (a libpq URL) rather than an SQLite file."""
    return isinstance(where, str) and where.startswith(SCHEMES)


def _turn_statement(write: TurnWrite) -> tuple[str, dict[str, Any]]:
    """The whole turn as one statement: each part a data-modifying CTE, so it commits or fails as one."""
    parts: list[str] = []
    values: dict[str, Any] = {"key": write.key}
    state = write.state
    if state is None:
        parts.append("DELETE FROM sessions WHERE key = %(key)s")
    else:
        parts.append(UPSERT_SESSION)
        values.update(
            node=state.node,
            locale=state.locale,
            back=" ".join(state.back),
            day=state.day,
            nation=state.nation,
            misses=state.misses,
        )
    if write.events:
        parts.append(COUNT_EVENTS.replace("%(day)s", "%(event_day)s"))
        values["event_day"] = write.day
        values["kinds"] = [kind for kind, _ in write.events]
        values["names"] = [name for _, name in write.events]
    if write.touch is not None:
        parts.append(TOUCH_CASE)
        values["alias"], values["now"] = write.touch
    ctes = ", ".join(f"w{number} AS ({part})" for number, part in enumerate(parts))
    return f"WITH {ctes} SELECT 1", values


def _case(row: Sequence[Any]) -> Case:
    alias, key, sealed, locale, path, opened, active, thread, claimed, staff_alias, nudged = row
    return Case(
        alias=str(alias),
        user_key=bytes(key),
        sealed_chat=bytes(sealed),
        locale=str(locale),
        path=tuple(str(path).split(" ")) if path else (),
        opened=int(opened),
        active=int(active),
        thread_id=None if thread is None else int(thread),
        claimed=None if claimed is None else int(claimed),
        staff_alias=staff_alias,
        nudged=bool(nudged),
    )


class PostgresStore(Store):
    """The store in a PostgreSQL database, shared by every replica of the bot."""

    def __init__(self, pool: AsyncConnectionPool[Any], shown: str, *, read_only: bool = False) -> None:
        self._pool = pool
        self.shown = shown  # the address without its password, for messages
        self.read_only = read_only
        self._deleted = False  # a deletion since the last VACUUM began
        self._vacuum: asyncio.Task[None] | None = None
        self.vacuums = 0  # VACUUM passes run, for tests
        self._closing = False
        self._in_flight = 0  # statements started and not yet finished: close() waits for them
        self._idle = asyncio.Event()
        self._idle.set()

    @classmethod
    async def open(cls, url: str, *, read_only: bool = False, pool_size: int = POOL_MAX) -> PostgresStore:
        """Connect, migrate (unless `read_only`) and open a pool; raises StoreError with a one-line reason."""
        shown = redact_url(url).split("?", 1)[0]  # a query may hold a password too (password=…)
        options: dict[str, Any] = {"prepare_threshold": None, "autocommit": True}
        try:
            first = await psycopg.AsyncConnection.connect(url, connect_timeout=CONNECT_TIMEOUT, **options)
            try:
                await _migrate(first, shown, upgrade=not read_only)
            finally:
                await first.close()
        except psycopg.Error as exc:
            raise StoreError(f"cannot open the database {shown}: {_reason(exc)}") from None
        kwargs: dict[str, Any] = dict(options)
        if read_only:
            kwargs["options"] = "-c default_transaction_read_only=on"
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url,
            kwargs=kwargs,
            min_size=min(POOL_MIN, pool_size),
            max_size=pool_size,
            open=False,
            timeout=CONNECT_TIMEOUT,
            name="bot-store",
        )
        try:
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        except Exception as exc:
            await pool.close()
            raise StoreError(f"cannot open the database {shown}: {type(exc).__name__}") from None
        return cls(pool, shown, read_only=read_only)

    # -- statements ---------------------------------------------------------------------------------

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A pooled connection, counted as in flight until given back (so close() lets it finish)."""
        self._in_flight += 1
        self._idle.clear()
        try:
            async with self._pool.connection() as connection:
                yield connection
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def _rows(self, query: str, values: Any = None) -> list[tuple[Any, ...]]:
        async with self._connection() as connection:
            cursor = await connection.execute(query, values)
            return await cursor.fetchall() if cursor.description else []

    async def _changed(self, query: str, values: Any = None) -> int:
        """Run one change; how many rows it changed."""
        async with self._connection() as connection:
            cursor = await connection.execute(query, values)
            return cursor.rowcount

    # -- one user's turn ------------------------------------------------------------------------

    async def load_turn(self, key: bytes) -> Turn:
        """The user's state and open case, in one SELECT."""
        rows = await self._rows(LOAD_TURN, {"key": key})
        node, locale, back, day, nation, misses, *case = rows[0]
        state = (
            None
            if day is None
            else State(
                node=node,
                locale=locale,
                back=tuple(back.split(" ")) if back else (),
                day=int(day),
                nation=nation,
                misses=int(misses),
            )
        )
        return Turn(state, None if case[0] is None else _case(case))

    async def write_turn(self, write: TurnWrite) -> None:
        """The turn's state, counters and case touch, in one statement (one round trip, atomic)."""
        query, values = _turn_statement(write)
        await self._rows(query, values)
        if write.state is None:
            self.note_deletion()

    async def delete(self, key: bytes) -> None:
        """Delete a user's session and any block on them (they asked to be forgotten)."""
        await self._rows(
            "WITH b AS (DELETE FROM blocks WHERE user_key = %(key)s) DELETE FROM sessions WHERE key = %(key)s",
            {"key": key},
        )
        self.note_deletion()

    # -- counters and retention -----------------------------------------------------------------

    async def count(self, day: int, events: Iterable[tuple[str, str]]) -> None:
        """Add events that belong to no session (claims, waiting times) to the daily counters."""
        pairs = list(events)
        if pairs:
            await self._changed(
                COUNT_EVENTS, {"day": day, "kinds": [k for k, _ in pairs], "names": [n for _, n in pairs]}
            )

    async def counters(self, first_day: int, last_day: int) -> list[CounterRow]:
        """Daily counters between two days (inclusive), ordered by day, kind, name."""
        rows = await self._rows(
            "SELECT day, kind, name, count FROM counters WHERE day BETWEEN %s AND %s "
            'ORDER BY day, kind COLLATE "C", name COLLATE "C"',
            (first_day, last_day),
        )
        return [(int(day), str(kind), str(name), int(count)) for day, kind, name, count in rows]

    async def monthly_counters(self, first_month: int, last_month: int) -> list[CounterRow]:
        """Rolled-up counters between two months (inclusive, numbered as `month_of`), ordered by month, kind, name."""
        rows = await self._rows(
            "SELECT month, kind, name, count FROM monthly_counters WHERE month BETWEEN %s AND %s "
            'ORDER BY month, kind COLLATE "C", name COLLATE "C"',
            (first_month, last_month),
        )
        return [(int(month), str(kind), str(name), int(count)) for month, kind, name, count in rows]

    async def roll_up_counters(self, before_day: int) -> int:
        """Add daily counters of days before `before_day` into their months and delete them; returns the rows."""
        rows = await self._rows(ROLL_UP, {"before": before_day})
        return int(rows[0][0])

    async def purge(self, today: int, retention_days: int) -> int:
        """Delete sessions idle for more than `retention_days` a batch at a time, blocks that ran out, and
        roll old daily counters up into months; returns how many sessions went."""
        purged = 0
        while True:
            gone = await self._changed(
                "DELETE FROM sessions WHERE key IN (SELECT key FROM sessions WHERE day < %s LIMIT %s)",
                (today - retention_days, PURGE_BATCH),
            )
            purged += gone
            if gone < PURGE_BATCH:
                break
        await self._changed("DELETE FROM blocks WHERE until_day < %s", (today,))
        await self.roll_up_counters(today - DAILY_DAYS)
        self.note_deletion()
        return purged

    async def session_count(self) -> int:
        """How many sessions are stored."""
        return int((await self._rows("SELECT count(*) FROM sessions"))[0][0])

    # -- the secret this database belongs to ----------------------------------------------------

    async def secret_check(self) -> bytes | None:
        """The keyed check value of the secret this database was used with, if one was recorded."""
        rows = await self._rows("SELECT value FROM secret_check WHERE id = 1")
        return bytes(rows[0][0]) if rows else None

    async def set_secret_check(self, value: bytes) -> None:
        """Record the check value of the secret now in use."""
        await self._changed(SET_SECRET_CHECK, (value,))

    async def holds_people(self) -> bool:
        """Whether any session or open case is stored (they are tied to the secret they were made with)."""
        rows = await self._rows("SELECT EXISTS (SELECT 1 FROM sessions) OR EXISTS (SELECT 1 FROM cases)")
        return bool(rows[0][0])

    async def start_over(self, check: bytes) -> None:
        """Delete every session, case, relay and block (unreachable under a new secret) and record the new check."""
        async with self._connection() as connection, connection.transaction():
            for table in ("sessions", "cases", "relays", "blocks"):
                await connection.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
            await connection.execute(SET_SECRET_CHECK, (check,))
        self.note_deletion()

    # -- handoff cases ----------------------------------------------------------------------------

    async def insert_case(self, case: Case) -> bool:
        """Add a new case; False (nothing stored) when its alias is taken or its user already has one."""
        values = (
            case.alias,
            case.user_key,
            case.sealed_chat,
            case.locale,
            " ".join(case.path),
            case.opened,
            case.active,
            case.thread_id,
            case.claimed,
            case.staff_alias,
            case.nudged,
        )
        marks = ", ".join(["%s"] * len(CASE_COLUMNS))
        return (
            await self._changed(f"INSERT INTO cases ({_CASE_SELECT}) VALUES ({marks}) ON CONFLICT DO NOTHING", values)
            == 1
        )

    # Each change is one UPDATE naming its columns; a case closed meanwhile is never written back.

    async def _update_case(self, alias: str, assignments: str, values: tuple[object, ...], extra: str = "") -> bool:
        return await self._changed(f"UPDATE cases SET {assignments} WHERE alias = %s{extra}", (*values, alias)) == 1

    async def claim_case(self, alias: str, now: int, staff_alias: str) -> bool:
        """Claim an unclaimed case; False when it is gone or someone claimed it first, on any replica."""
        return await self._update_case(
            alias,
            "claimed = %s, active = %s, staff_alias = COALESCE(staff_alias, %s)",
            (now, now, staff_alias),
            " AND claimed IS NULL",
        )

    async def set_staff_alias(self, alias: str, staff_alias: str) -> bool:
        """The name the user sees for staff in this case."""
        return await self._update_case(alias, "staff_alias = %s", (staff_alias,))

    async def touch_case(self, alias: str, now: int) -> bool:
        """Note a message either way in this case."""
        return await self._update_case(alias, "active = %s", (now,))

    async def mark_nudged(self, alias: str) -> bool:
        """Mark the waiting message as sent; False if it already was (or the case is gone)."""
        return await self._update_case(alias, "nudged = true", (), " AND NOT nudged")

    async def set_case_thread(self, alias: str, thread_id: int) -> bool:
        """The staff topic of a case whose topic could only be opened later."""
        return await self._update_case(alias, "thread_id = %s", (thread_id,))

    async def _find_case(self, column: str, value: object) -> Case | None:
        rows = await self._rows(f"SELECT {_CASE_SELECT} FROM cases WHERE {column} = %s", (value,))
        return _case(rows[0]) if rows else None

    async def case_for_user(self, key: bytes) -> Case | None:
        """The open case of a user, if any."""
        return await self._find_case("user_key", key)

    async def case_for_thread(self, thread_id: int) -> Case | None:
        """The open case whose staff topic is `thread_id`, if any."""
        return await self._find_case("thread_id", thread_id)

    async def case_by_alias(self, alias: str) -> Case | None:
        """The open case called `alias`, if any."""
        return await self._find_case("alias", alias)

    async def open_cases(self) -> list[Case]:
        """Every open case, oldest first."""
        rows = await self._rows(f'SELECT {_CASE_SELECT} FROM cases ORDER BY opened, alias COLLATE "C"')
        return [_case(row) for row in rows]

    async def remove_case(self, alias: str) -> bool:
        """Delete a case, its sealed chat link and its waiting relays; False when it was already gone."""
        gone = await self._changed(
            "WITH r AS (DELETE FROM relays WHERE alias = %(alias)s) DELETE FROM cases WHERE alias = %(alias)s",
            {"alias": alias},
        )
        self.note_deletion()
        return gone == 1

    # -- relays waiting to be sent, and closed topics ------------------------------------------

    async def add_relay(self, alias: str, body: bytes, limit: int) -> int | None:
        """Queue a sealed relay behind the case's others; None when the case is gone or has `limit` waiting."""
        async with self._connection() as connection, connection.transaction():
            # The case's row lock puts concurrent relays of one case in line, so the limit holds and ids
            # follow the order they were queued in; the count below then sees every earlier one.
            locked = await connection.execute("SELECT 1 FROM cases WHERE alias = %s FOR UPDATE", (alias,))
            if await locked.fetchone() is None:
                return None
            cursor = await connection.execute(
                "INSERT INTO relays (alias, body) SELECT %(alias)s, %(body)s "
                "WHERE (SELECT count(*) FROM relays WHERE alias = %(alias)s) < %(limit)s RETURNING id",
                {"alias": alias, "body": body, "limit": limit},
            )
            row = await cursor.fetchone()
            return None if row is None else int(row[0])

    async def relays(self, alias: str) -> list[tuple[int, bytes]]:
        """A case's waiting relays, oldest first."""
        rows = await self._rows("SELECT id, body FROM relays WHERE alias = %s ORDER BY id", (alias,))
        return [(int(i), bytes(b)) for i, b in rows]

    async def relay_aliases(self) -> list[str]:
        """Cases with relays waiting (after a restart, their queues are drained again)."""
        rows = await self._rows('SELECT DISTINCT alias COLLATE "C" FROM relays ORDER BY 1')
        return [str(a) for (a,) in rows]

    async def remove_relay(self, relay_id: int) -> None:
        """A relay was sent (or given up on)."""
        await self._changed("DELETE FROM relays WHERE id = %s", (relay_id,))
        self.note_deletion()

    async def add_closed_topic(self, thread_id: int, day: int, user_key: bytes) -> None:
        """Remember a closed topic (and whose) so it can be deleted with the retention or on /forget."""
        await self._changed(
            "INSERT INTO closed_topics (thread_id, day, user_key) VALUES (%s, %s, %s) ON CONFLICT (thread_id) "
            "DO UPDATE SET day = excluded.day, user_key = excluded.user_key",
            (thread_id, day, user_key),
        )

    async def topics_of(self, user_key: bytes) -> list[int]:
        """The closed topics of a user's earlier cases."""
        rows = await self._rows(
            "SELECT thread_id FROM closed_topics WHERE user_key = %s ORDER BY thread_id", (user_key,)
        )
        return [int(t) for (t,) in rows]

    async def expired_topics(self, before_day: int) -> list[int]:
        """Closed topics closed before `before_day`."""
        rows = await self._rows(
            "SELECT thread_id FROM closed_topics WHERE day < %s ORDER BY day, thread_id", (before_day,)
        )
        return [int(t) for (t,) in rows]

    async def remove_closed_topic(self, thread_id: int) -> None:
        """The topic was deleted (or reopened for a new case)."""
        await self._changed("DELETE FROM closed_topics WHERE thread_id = %s", (thread_id,))

    # -- blocks ------------------------------------------------------------------------------------

    async def block(self, user_key: bytes, alias: str, until_day: int) -> None:
        """Block a user (known to staff by a case alias) until `until_day`; blocking again moves the day."""
        await self._changed(
            "INSERT INTO blocks (user_key, alias, until_day) VALUES (%s, %s, %s) ON CONFLICT (user_key) "
            "DO UPDATE SET alias = excluded.alias, until_day = excluded.until_day",
            (user_key, alias, until_day),
        )

    async def blocked_until(self, user_key: bytes) -> int | None:
        """The day a user's block runs to, or None when they are not blocked."""
        rows = await self._rows("SELECT until_day FROM blocks WHERE user_key = %s", (user_key,))
        return None if not rows or rows[0][0] is None else int(rows[0][0])

    async def unblock(self, alias: str) -> bool:
        """Lift the block staff know by `alias`; False when there was none."""
        gone = await self._changed("DELETE FROM blocks WHERE alias = %s", (alias,)) > 0
        if gone:
            self.note_deletion()
        return gone

    async def blocked_count(self, today: int) -> int:
        """How many blocks are in force on `today`."""
        rows = await self._rows("SELECT count(*) FROM blocks WHERE until_day >= %s", (today,))
        return int(rows[0][0])

    # -- the server, and the lifecycle ------------------------------------------------------------

    async def log_setting_problems(self) -> list[str]:
        """The server's logging settings that could put people's data in its log (docs/deploy.md)."""
        rows = await self._rows(
            "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", (list(PRIVATE_LOG_SETTINGS),)
        )
        found = {str(name): str(setting) for name, setting in rows}
        return [
            f"{name} is {found.get(name)!r}, not {wanted!r}"
            for name, wanted in PRIVATE_LOG_SETTINGS.items()
            if found.get(name, wanted) != wanted
        ]

    def note_deletion(self) -> None:
        """Have the tables people's rows are deleted from vacuumed shortly; deletions close together share one."""
        self._deleted = True
        if self.read_only or self._closing:
            return  # close() runs the VACUUM due
        if self._vacuum is None or self._vacuum.done():
            self._vacuum = asyncio.get_running_loop().create_task(self._vacuum_soon())

    async def _vacuum_soon(self) -> None:
        while self._deleted:
            await asyncio.sleep(VACUUM_DELAY)
            await self._vacuum_now()

    async def _vacuum_now(self) -> None:
        self._deleted = False
        try:
            async with self._connection() as connection:
                for table in PEOPLES_TABLES:
                    await connection.execute(sql.SQL("VACUUM {}").format(sql.Identifier(table)))
            self.vacuums += 1
        except psycopg.Error as exc:
            log.warning("vacuuming after a deletion failed: %s", type(exc).__name__)  # autovacuum follows

    async def scrubbed(self) -> None:
        """Wait until the VACUUM after the deletions so far has run (it reclaims their rows' space)."""
        while self._vacuum is not None and not self._vacuum.done():
            await asyncio.shield(self._vacuum)

    async def close(self) -> None:
        """Wait for the statements in flight, run the VACUUM due now rather than later, and close."""
        self._closing = True
        if self._vacuum is not None and not self._vacuum.done():
            self._vacuum.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._vacuum
        await self._idle.wait()
        if self._deleted and not self.read_only:
            await self._vacuum_now()
        await self._pool.close()


async def _migrate(connection: psycopg.AsyncConnection[Any], shown: str, *, upgrade: bool) -> int:
    """Bring the schema up to date under an advisory lock (one replica migrates); returns the version found."""
    async with connection.transaction():
        if upgrade:
            await connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            await connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
        exists = await (await connection.execute("SELECT to_regclass('schema_version') IS NOT NULL")).fetchone()
        row = None
        if exists and exists[0]:
            row = await (await connection.execute("SELECT max(version) FROM schema_version")).fetchone()
        version = int(row[0]) if row and row[0] is not None else 0
        if version > len(MIGRATIONS):
            raise StoreError(
                f"cannot open the database {shown}: its schema (version {version}) is newer than this "
                f"code (version {len(MIGRATIONS)}); upgrade the bot"
            )
        if not upgrade:
            if version < len(MIGRATIONS):
                raise StoreError(
                    f"cannot read the database {shown}: its schema (version {version}) is older than "
                    f"this code's (version {len(MIGRATIONS)}); start the bot once to upgrade it"
                )
            return version
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            await connection.execute(script.encode())  # several statements: sent as one simple query
            await connection.execute("DELETE FROM schema_version")
            await connection.execute("INSERT INTO schema_version (version) VALUES (%s)", (number,))
        return version


def _reason(exc: psycopg.Error) -> str:
    """The server's or libpq's first line, which names the problem (never a row: nothing here quotes one)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
