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


def sqlite_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    path = tmp_path / "bot.sqlite3"
    return Backend("sqlite", lambda: open_store(path))


def postgres_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    # A real server (tests/pg.py), started once per session; each test gets a fresh database.
    url: str = request.getfixturevalue("pg_url")
    return Backend("postgres", lambda: open_store(url))


BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], Backend]] = {
    "sqlite": sqlite_backend,
    "postgres": postgres_backend,
}
# A backend that starts a server belongs to the e2e tier (tests/conftest.py).
E2E_BACKENDS = frozenset({"postgres"})


@pytest.fixture(
    params=[pytest.param(name, marks=[pytest.mark.e2e] if name in E2E_BACKENDS else []) for name in sorted(BACKENDS)]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return BACKENDS[request.param](request, tmp_path)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    opened = await backend.open()
    yield opened
    await opened.close()
