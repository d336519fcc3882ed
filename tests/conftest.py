"""Shared fixtures (a small valid flow set on disk that each test can break in one place) and the tiers.

Every test is in one of three tiers: `bench` (tests/test_bench_smoke.py, marked there), `e2e` (marked
here: whatever reaches the fake Bot API, the fake signal-cli or a subprocess, directly, through a
fixture or through a helper in tests/), and the unit tier, which is everything else and runs in
seconds: `pytest -m "not e2e and not bench"`.
"""

from __future__ import annotations

import functools
import shutil
import textwrap
import threading
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.flows import FlowSet
from bot.flows.content import load_content

REPO = Path(__file__).resolve().parent.parent
TESTS = str(REPO / "tests")
FLOWS = REPO / "flows"

MAIN = """\
flow: main
start: welcome
nodes:
  welcome:
    say: Hello.
    choices:
      - {label: "Info", goto: info.menu}
      - {label: "Person", do: handoff}
  menu:
    say: Menu.
    choices:
      - {label: "Info", goto: info.menu}
"""

INFO = """\
flow: info
start: menu
nodes:
  menu:
    say: Pick one.
    choices:
      - {label: "Clinic", goto: clinic}
      - {label: "Leaving", goto: exit.start}
  clinic:
    say: Go to a clinic.
    services: [clinic]
    next: main.menu
"""

EXIT = """\
flow: exit
on_request: true
nodes:
  start:
    say: Whatever you decide, we support you.
    end: true
"""

SETTINGS = """\
default_language: en
languages: [en]
start: main.welcome
menu: main.menu
"""

SERVICES = """\
services:
  clinic:
    name: Clinic
    for: Tests.
"""

TRIGGERS = """\
triggers:
  - id: help
    priority: 10
    do: handoff
    keywords:
      en: [person]
"""

WriteFlows = Callable[..., Path]


@pytest.fixture
def write_flows(tmp_path: Path) -> WriteFlows:
    """Write a valid minimal flow set, with any file replaced (or removed with None)."""

    def write(**files: str | None) -> Path:
        directory = tmp_path / "flows"
        directory.mkdir(exist_ok=True)
        base = {
            "main.yaml": MAIN,
            "info.yaml": INFO,
            "exit.yaml": EXIT,
            "settings.yaml": SETTINGS,
            "services.yaml": SERVICES,
            "triggers.yaml": TRIGGERS,
        }
        shutil.copy(FLOWS / "messages.yaml", directory / "messages.yaml")
        for name, text in files.items():
            base[name.replace("_yaml", ".yaml")] = text
        for name, text in base.items():
            path = directory / name
            if text is None:
                path.unlink(missing_ok=True)
            else:
                path.write_text(textwrap.dedent(text), encoding="utf-8")
        return directory

    return write


@functools.cache
def shipped() -> FlowSet:
    """The shipped flows and catalogs, loaded once per run: a FlowSet is immutable and, as in the bot, shared."""
    return load_content(FLOWS, REPO / "locales")


@pytest.fixture
def shipped_flows() -> FlowSet:
    """The shipped flows and catalogs (see `shipped`)."""
    return shipped()


# -- tiers ------------------------------------------------------------------------------------------

# Names whose use puts a test in the e2e tier: the fake servers, and starting another process.
E2E_NAMES = frozenset(
    {
        "FakeBotAPI",
        "FakeSignalCli",
        "subprocess",
        "create_subprocess_exec",
        "create_subprocess_shell",
    }
)


def _names(code: types.CodeType) -> Iterator[str]:
    """The global and attribute names a function's code uses, nested functions and lambdas included."""
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _names(const)


def reaches_e2e(func: object, seen: set[int] | None = None) -> bool:
    """Whether `func`, or a function of tests/ it calls by name, uses one of `E2E_NAMES`."""
    seen = set() if seen is None else seen
    func = getattr(func, "__wrapped__", func)  # @asynccontextmanager helpers such as running_bot
    code = getattr(func, "__code__", None)
    # Only code in tests/ is followed: the bot's own modules are what every tier tests.
    if code is None or id(code) in seen or not code.co_filename.startswith(TESTS):
        return False
    seen.add(id(code))
    names = set(_names(code))
    if names & E2E_NAMES:
        return True
    scope = getattr(func, "__globals__", {})
    return any(reaches_e2e(scope[name], seen) for name in names if callable(scope.get(name)))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that reaches a fake server or a subprocess as e2e (bench tests stay bench only)."""
    for item in items:
        if not isinstance(item, pytest.Function) or item.get_closest_marker("bench") or item.get_closest_marker("e2e"):
            continue
        # The fixtures a test uses count as the test's own code: `bot` in the e2e files starts one.
        fixtures = [d.func for defs in item._fixtureinfo.name2fixturedefs.values() for d in defs]
        if any(reaches_e2e(func) for func in (item.function, *fixtures)):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def no_database_left_open() -> Iterator[None]:
    """A store left open keeps aiosqlite's (non-daemon) thread alive, and the test run would never exit."""
    before = set(threading.enumerate())
    yield
    left = [t for t in threading.enumerate() if t not in before and "_connection_worker_thread" in t.name]
    for thread in left:
        thread.join(timeout=5)  # a closed store's thread ends just after close() returns
    if any(thread.is_alive() for thread in left):
        pytest.fail("the test left a store open: close it (or use a fixture that does)")


# A real PostgreSQL (tests/pg.py): one cluster per session, a fresh database per test that asks for one.
from tests.pg import pg_cluster, pg_url  # noqa: E402, F401
