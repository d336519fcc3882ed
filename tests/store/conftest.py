"""Every backend the contract suite runs against; a new backend joins by adding itself to BACKENDS."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.store import Store, open_store


@dataclass
class Backend:
    """How to open one backend's database, and open the same one again (a restart)."""

    name: str
    open: Callable[[], Awaitable[Store]]


def sqlite_backend(tmp_path: Path) -> Backend:
    path = tmp_path / "bot.sqlite3"
    return Backend("sqlite", lambda: open_store(path))


# The PostgreSQL backend adds itself here when it lands: the same suite then runs against it.
BACKENDS: dict[str, Callable[[Path], Backend]] = {"sqlite": sqlite_backend}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return BACKENDS[request.param](tmp_path)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    opened = await backend.open()
    yield opened
    await opened.close()
