"""What every command shares: exit codes, the operator's error, and opening the database with its secret."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path

from bot import config
from bot.errors import BotError
from bot.privacy.keys import Binding, Keyring, bind_secret, find_secret
from bot.store import Store, open_store

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


NEW_SECRET_HELP = (
    "use this secret although the database was used with another (lost) one: its sessions and open "
    "cases are deleted, the anonymous counters kept"
)


class CliError(BotError):
    """A problem the operator can fix; printed as one line."""


async def open_with_secret(
    args: argparse.Namespace, env: Mapping[str, str], *, console: bool, replicas: bool = False
) -> tuple[Keyring, Store]:
    """Find the secret (the console may make one in ./data), open the database and check they belong together.

    `replicas`: the PostgreSQL store whose turns also mark the update they come from as processed.
    """
    where = args.db or config.store_location(env)  # an SQLite file, or BOT_DATABASE_URL's PostgreSQL
    db = where if isinstance(where, Path) else None
    secret = find_secret(env, config.data_secret_path(env), create_default=console)
    beside = db is not None and secret.path is not None and secret.path.parent.resolve() == db.parent.resolve()
    if not console and beside:
        print(
            f"warning: {secret.where} is in the same folder as the database, so one copy of that folder unlocks "
            "it: move it elsewhere and set BOT_SECRET_FILE (see docs/privacy.md).",
            file=sys.stderr,
        )
    keyring = Keyring(secret.value)
    # The console may run beside the bot on its database: it leaves checkpoints to the bot then.
    if replicas and isinstance(where, str):
        from bot.replicas.store import ReplicaStore  # psycopg only where PostgreSQL is used

        store: Store = await ReplicaStore.open(where)
    else:
        store = await open_store(where, checkpoints=not console)
    try:
        check = keyring.check_value()
        binding = bind_secret(secret, check, await store.secret_check(), await store.holds_people(), args.new_secret)
        if binding is Binding.RECORD:
            await store.set_secret_check(check)
        elif binding is Binding.START_OVER:
            await store.start_over(check)
            print(
                "note: started over with a new secret: the saved sessions and open cases were deleted.", file=sys.stderr
            )
    except BaseException:
        await store.close()
        if secret.created and secret.path is not None:
            secret.path.unlink(missing_ok=True)  # else the next start would take it for the right one
        raise
    if console and secret.created and not env.get("BOT_SECRET_FILE"):
        print(
            f"note: made a new secret in {secret.path}, beside the database. That is fine for trying the bot here; "
            "for a real service keep it apart from the data (see docs/privacy.md).",
            file=sys.stderr,
        )
    return keyring, store
