"""Statistics: a scripted day of conversations and handoffs adds up to exactly what was done."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import cli
from bot.content import load_content
from bot.conversation import Conversations
from bot.engine import Command, State, Text
from bot.handoff import Handoffs
from bot.privacy import Keyring
from bot.handoff import staff_text
from bot.staffdesk import load_stats, parse_days
from bot.stats import Formatter, Tally, render_csv, render_text, summarise, wait_bucket
from bot.store import Store
from tests.conftest import TRIGGERS, WriteFlows
from tests.fakebotapi import FakeBotAPI
from tests.test_handoff import Bench, Clock, RecordingDesk
from tests.test_telegram_e2e import STAFF, running_bot

WEDNESDAY = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
CRISIS = TRIGGERS + """\
  - id: crisis
    priority: 100
    goto: info.clinic
    keywords:
      en: [attacked]
"""
SETTINGS = "default_language: en\nlanguages: [en, ro]\nstart: main.welcome\nmenu: main.menu\n"


@pytest.fixture
async def bench(write_flows: WriteFlows, tmp_path: Path) -> AsyncIterator[Bench]:
    flows = load_content(write_flows(triggers_yaml=CRISIS, settings_yaml=SETTINGS), tmp_path / "no-locales")
    clock = Clock(WEDNESDAY)
    store = await Store.open(tmp_path / "bot.sqlite3")
    desk = RecordingDesk()
    yield Bench(Handoffs(Conversations(flows, store, Keyring(b"k" * 32), clock=clock), desk), desk, clock)
    await store.close()


def say(bench: Bench):  # type: ignore[no-untyped-def]
    return lambda key, **values: staff_text(bench.handoffs.flows, key, **values)


async def scripted_two_days(bench: Bench) -> None:
    """Wednesday: three people start, one says crisis words, two ask for a person, both are answered.
    Thursday: one more starts, asks for a person and is answered at once."""
    await bench.user(101, Command("start"))
    await bench.user(101, Text("Info"))
    await bench.user(101, Text("I was attacked"))
    await bench.user(101, Command("human"))
    await bench.user(102, Command("start"), "ro")
    await bench.user(102, Text("a person please"), "ro")
    await bench.user(103, Command("start"))
    first, second = bench.desk.topics
    bench.clock.now += timedelta(minutes=7)
    await bench.staff(first, "/claim")
    bench.clock.now += timedelta(minutes=25)
    await bench.staff(second, "Hello, I'm here")  # replying claims the case: 32 minutes after it opened
    await bench.staff(first, "/claim")  # claiming again is not a second claim
    bench.clock.now = WEDNESDAY + timedelta(days=1)
    await bench.user(104, Command("start"))
    await bench.user(104, Command("human"))
    (third,) = set(bench.desk.topics) - {first, second}
    await bench.staff(third, "/claim")


async def test_a_scripted_day_counts_exactly_what_happened(bench: Bench) -> None:
    await scripted_two_days(bench)
    stats = await load_stats(bench.handoffs.conversations.store, date(2026, 11, 26), 2)
    (wednesday, wednesday_counts), (thursday, thursday_counts) = stats.days
    assert (wednesday, thursday) == (date(2026, 11, 25), date(2026, 11, 26))
    assert (wednesday_counts.started, wednesday_counts.requested, wednesday_counts.claimed, wednesday_counts.crisis) == (3, 2, 2, 1)
    assert (thursday_counts.started, thursday_counts.requested, thursday_counts.claimed, thursday_counts.crisis) == (1, 1, 1, 0)
    total = stats.total
    assert (total.started, total.requested, total.claimed, total.crisis) == (4, 3, 3, 1)
    assert total.triggers == {"help": 1}  # crisis is counted apart
    assert total.languages == {"en": 3, "ro": 1}
    assert total.waits == {"10": 1, "45": 1, "1": 1}
    assert (total.median, total.p90) == ("10", "45")
    assert total.nodes["info.menu"] == 1 and total.nodes["info.clinic"] == 1


async def test_the_counters_hold_no_per_user_rows(bench: Bench, tmp_path: Path) -> None:
    await scripted_two_days(bench)
    rows = await bench.handoffs.conversations.store.counters(0, 10**7)
    assert {kind for _, kind, _, _ in rows} <= {"conversation", "language", "node", "trigger", "handoff", "wait"}
    db = sqlite3.connect(tmp_path / "bot.sqlite3")
    assert [c[1] for c in db.execute("PRAGMA table_info(counters)")] == ["day", "kind", "name", "count"]
    everything = " ".join(str(v) for row in db.execute("SELECT * FROM counters") for v in row)
    assert not any(str(chat) in everything for chat in (101, 102, 103, 104))


async def test_the_staff_text_is_formatted_with_babel(bench: Bench) -> None:
    await scripted_two_days(bench)
    stats = await load_stats(bench.handoffs.conversations.store, date(2026, 11, 26), 2)
    lines = render_text(stats, say(bench), "en").splitlines()
    assert lines[:3] == [
        "Statistics from Nov 25, 2026 to Nov 26, 2026",
        "Wed, Nov 25: 3 new · 2 asked for a person · 2 answered · 1 crisis",
        "Thu, Nov 26: 1 new · 1 asked for a person · 1 answered · 0 crisis",
    ]
    assert "In total: 4 new · 3 asked for a person · 3 answered · 1 crisis" in lines
    assert "Waiting for a person: half were answered within 10 min, 9 in 10 within 45 min." in lines
    assert "Typed words that opened a topic: help 1" in lines
    assert "Languages: English 3, Română 1" in lines
    german = render_text(stats, say(bench), "de").splitlines()
    assert german[1].startswith("Mi., 25. Nov.: 3 new")


def test_numbers_dates_and_waits_follow_the_locale() -> None:
    assert Formatter("en").number(12345) == "12,345"
    assert Formatter("de").number(12345) == "12.345"
    assert Formatter("en").date(date(2026, 11, 25)) == "Nov 25, 2026"
    assert Formatter("ro").date(date(2026, 11, 25)) == "25 nov. 2026"
    assert Formatter("en").wait("more") == "> 10,080"


def test_waits_fall_in_buckets_and_percentiles_read_the_bucket_bound() -> None:
    assert [wait_bucket(m) for m in (0, 1, 4, 5, 6, 61, 10080, 10081)] == ["1", "1", "5", "5", "10", "90", "10080", "more"]
    tally = Tally(waits={"5": 5, "30": 4, "more": 1})
    assert (tally.median, tally.p90, tally.wait_percentile(1.0)) == ("5", "30", "more")
    assert Tally().median is None


def test_csv_has_a_row_per_day_and_a_column_per_trigger_language_and_node() -> None:
    rows = [
        (date(2026, 1, 2).toordinal(), "conversation", "started", 2),
        (date(2026, 1, 2).toordinal(), "language", "en", 2),
        (date(2026, 1, 3).toordinal(), "trigger", "crisis", 1),
        (date(2026, 1, 3).toordinal(), "trigger", "pep", 3),
        (date(2026, 1, 3).toordinal(), "handoff", "claimed", 1),
        (date(2026, 1, 3).toordinal(), "wait", "15", 1),
    ]
    text = render_csv(summarise(rows, date(2026, 1, 1), date(2026, 1, 3)))
    assert text.splitlines() == [
        "date,conversations_started,handoffs_requested,handoffs_claimed,wait_median_minutes,wait_p90_minutes,"
        "crisis_triggers,trigger:pep,language:en",
        "2026-01-01,0,0,0,,,0,0,0",
        "2026-01-02,2,0,0,,,0,0,2",
        "2026-01-03,0,0,1,15,15,1,3,0",
    ]


def test_days_argument_is_checked() -> None:
    assert [parse_days(a) for a in ("", " 30 ", "366", "0", "367", "-3", "abc", "1.5")] == [
        7, 30, 366, None, None, None, None, None]


def test_stats_command_prints_text_or_csv(write_flows: WriteFlows, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    directory = write_flows(settings_yaml=SETTINGS)
    db = tmp_path / "stats.sqlite3"
    today = datetime.now(ZoneInfo("Europe/London")).date().toordinal()

    async def one_conversation() -> None:
        store = await Store.open(db)
        events = [("conversation", "started"), ("language", "ro")]
        await store.record(b"k" * 32, State("main.menu", "ro", (), today), events, today)
        await store.close()

    asyncio.run(one_conversation())
    env = {"BOT_LOCALES": str(tmp_path / "no-locales")}
    assert cli.main(["stats", "--db", str(db), "--flows", str(directory), "--days", "3"], env) == 0
    out = capsys.readouterr().out
    assert out.startswith("Statistics from ") and len(out.splitlines()) == 1 + 3 + 6 and "Languages: Română 1" in out
    assert cli.main(["stats", "--db", str(db), "--flows", str(directory), "--days", "1", "--csv"], env) == 0
    assert capsys.readouterr().out.splitlines()[1].split(",")[1] == "1"
    assert cli.main(["stats", "--db", str(tmp_path / "missing.sqlite3"), "--flows", str(directory)], env) == 2
    assert capsys.readouterr().err.startswith("error: no database at ")
    assert not (tmp_path / "missing.sqlite3").exists()


async def test_stats_in_the_staff_group_after_a_handoff(write_flows: WriteFlows, tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", flows_dir=write_flows()):
        api.user_sends_text(301, "/start")
        await api.wait_for_text(301, "Hello.")
        told = len(api.sent_to(301))
        api.user_sends_text(301, "/human")
        await api.wait_for(lambda: len(api.sent_to(301)) > told, what="the answer to /human")
        told = len(api.sent_to(301))
        api.group_message(STAFF, "/claim", thread_id=501)
        await api.wait_for(lambda: len(api.sent_to(301)) > told, what="the user told of the claim")
        api.group_message(STAFF, "/stats 1")
        reply = await api.wait_for_text(STAFF, "Statistics from ")
        assert ": 1 new · 1 asked for a person · 1 answered · 0 crisis" in reply["text"]
        assert "half were answered within 1 min" in reply["text"]
        assert "301" not in reply["text"]
        before = len(api.sent_to(STAFF))
        api.group_message(STAFF, "/stats@signpost_test_bot 366")
        await api.wait_for(lambda: any("Most visited" in (m.get("text") or "") for m in api.sent_to(STAFF)[before:]))
        pieces = [m["text"] for m in api.sent_to(STAFF)[before:]]
        assert len(pieces) > 1 and all(len(piece) <= 4096 for piece in pieces)  # a year comes in several messages
        assert pieces[0].startswith("Statistics from ") and sum(p.count("\n") + 1 for p in pieces) >= 366
        api.group_message(STAFF, "/stats lots")
        await api.wait_for_text(STAFF, "Use /stats, or /stats DAYS with DAYS from 1 to 366.")
