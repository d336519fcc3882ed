"""The secret behind every key and seal: where it is found or made, and whether it is private and strong.

The secret is what turns a copy of the database back into people, so it is kept apart from the data
(the environment, a systemd credential, or a file elsewhere), and refused when others can read its file
or when it is guessable.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import secrets
import stat
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import BotError

MIN_SECRET = 16
MIN_BITS = 64  # an estimate of how hard the secret is to guess; a made one has about 250
CREDENTIAL = "bot-secret"  # systemd: LoadCredential=bot-secret:/etc/signpost-bot/secret
HOW_TO_MAKE = (
    'make a good one with `python -c "import secrets; print(secrets.token_urlsafe(32))"` or `openssl rand -base64 32`'
)
NO_SECRET = (
    "no secret is set for `run`: keep it apart from the data folder, in BOT_SECRET_FILE (a file only the bot's "
    "user can read, e.g. /etc/signpost-bot/secret), a systemd credential named bot-secret, or BOT_SECRET; "
    + HOW_TO_MAKE
)


class SecretError(BotError):
    """The secret is missing, unreadable or too weak; the message names where it came from."""


@dataclass(frozen=True)
class Secret:
    """The secret and where it came from (for messages and `doctor`); the value never shows in a repr."""

    value: bytes = field(repr=False)
    where: str  # "BOT_SECRET", "the systemd credential …", "the secret file …"
    path: Path | None = None
    created: bool = False  # made just now: no database can have been used with it yet


def estimated_bits(value: bytes) -> float:
    """A cautious guess of the secret's strength in bits: repeats and runs (aaaa, 1234, abcd) count for nothing."""
    text = value.decode("utf-8", "replace")
    if not text:
        return 0.0
    pool = sum(size for test, size in ((str.islower, 26), (str.isupper, 26), (str.isdigit, 10)) if any(map(test, text)))
    pool += 33 if any(not (c.isascii() and c.isalnum()) for c in text) else 0
    fresh = sum(1 for before, char in zip("\0" + text, text, strict=False) if abs(ord(char) - ord(before)) > 1)
    counts = Counter(text).values()
    shannon = -sum(n / len(text) * math.log2(n / len(text)) for n in counts) * len(text)
    return max(0.0, min(fresh * math.log2(max(pool, 2)), shannon))


def strength_problem(value: bytes, where: str) -> str | None:
    """Why the secret from `where` is too weak, with how to make a good one; None when it is strong enough."""
    if len(value) < MIN_SECRET:
        return f"the secret in {where} is too short (at least {MIN_SECRET} characters): {HOW_TO_MAKE}"
    if estimated_bits(value) < MIN_BITS:
        return f"the secret in {where} is too easy to guess (repeated or in sequence): {HOW_TO_MAKE}"
    return None


def mode_problem(path: Path) -> str | None:
    """Why others could read or change the secret file, with the fix; None when only its owner can."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        return f"cannot read the secret file {path}: {exc.strerror or exc}"
    if mode & 0o077:
        return f"the secret file {path} can be read by others (mode {mode:04o}): run `chmod 600 {path}`"
    return None


def find_secret(env: Mapping[str, str], default_path: Path, *, create_default: bool) -> Secret:
    """`BOT_SECRET`, else the systemd credential `bot-secret`, else the file `BOT_SECRET_FILE` (made if
    missing), else `default_path`, made if missing only when `create_default` (the console's easy default).

    Raises SecretError when none is given, or the one given is unreadable, readable by others, or weak.
    """
    if env.get("BOT_SECRET"):
        value = env["BOT_SECRET"].strip().encode()
        problem = strength_problem(value, "BOT_SECRET")
        if problem:
            raise SecretError(problem)
        return Secret(value, "BOT_SECRET")
    credentials = env.get("CREDENTIALS_DIRECTORY")
    if credentials and (Path(credentials) / CREDENTIAL).is_file():
        # systemd makes the credential readable by the service alone, so its mode is not second-guessed.
        path = Path(credentials) / CREDENTIAL
        return Secret(_read_secret(path, f"the systemd credential {path}"), f"the systemd credential {path}", path)
    if env.get("BOT_SECRET_FILE"):
        path, create = Path(env["BOT_SECRET_FILE"]), True
    else:
        path, create = default_path, create_default
    created = False
    if not path.exists():
        if not create:
            raise SecretError(NO_SECRET)
        created = _create_secret_file(path)
    elif path.is_file():
        problem = mode_problem(path)
        if problem:
            raise SecretError(problem)
    where = f"the secret file {path}"
    return Secret(_read_secret(path, where), where, path, created)


def _read_secret(path: Path, where: str) -> bytes:
    try:
        value = path.read_bytes().strip()
    except OSError as exc:
        raise SecretError(f"cannot read {where}: {exc.strerror or exc}") from None
    if len(value) < MIN_SECRET:
        raise SecretError(
            f"{where} is empty or too short (at least {MIN_SECRET} characters); "
            f"delete it to have a new one made, or {HOW_TO_MAKE}"
        )
    problem = strength_problem(value, where)
    if problem:
        raise SecretError(problem)
    return value


def load_secret(env: Mapping[str, str], default_path: Path) -> bytes:
    """The secret as `find_secret` finds it, making `default_path` 0600 if nothing else is given."""
    return find_secret(env, default_path, create_default=True).value


def make_private_dir(directory: Path) -> None:
    """Create `directory` and any missing parents with mode 0700; existing ones are left as they are."""
    missing: list[Path] = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    if not directory.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{directory} is not a directory")
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made by another process meanwhile
            path.mkdir(mode=0o700)


def _create_secret_file(path: Path) -> bool:
    """Make a new random secret file; False if another process made one meanwhile (theirs is used)."""
    # Written whole under a temporary name, then hard-linked into place: the link is atomic and never
    # replaces a file, so no reader ever sees a half-written secret and a racing process's secret wins.
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        make_private_dir(path.parent)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.link(temp, path)
        except FileExistsError:
            return False
        finally:
            temp.unlink(missing_ok=True)
    except OSError as exc:
        raise SecretError(f"cannot create the secret file {path}: {exc.strerror or exc}") from None
    return True
