"""Statistics: a scripted day of conversations and handoffs adds up to exactly what was done."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main as cli
from bot.conversation import Conversations
from bot.engine import Command, State, Text
from bot.flows.content import load_content
from bot.handoff.service import Handoffs
from bot.privacy.disclosure import HIDDEN, SMALL, Group, protect
from bot.privacy.keys import Keyring
from bot.stats.command import load_stats, parse_days
from bot.stats.render import Formatter, render_csv, render_text
from bot.stats.tally import Tally, summarise, wait_bucket
from bot.store import open_store
from bot.wording import staff_text
from tests.conftest import TRIGGERS, WriteFlows
from tests.fakebotapi import FakeBotAPI
from tests.test_handoff import Bench, Clock, RecordingDesk
from tests.test_telegram_e2e import STAFF, running_bot

WEDNESDAY = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CRISIS = (
    TRIGGERS
    + """\
  - id: crisis
    priority: 100
    goto: info.clinic
    keywords:
      en: [attacked]
"""
)
SETTINGS = "default_language: en\nlanguages: [en, ro]\nstart: main.welcome\nmenu: main.menu\n"


@pytest.fixture
async def bench(write_flows: WriteFlows, tmp_path: Path) -> AsyncIterator[Bench]:
    flows = load_content(write_flows(triggers_yaml=CRISIS, settings_yaml=SETTINGS), tmp_path / "no-locales")
    clock = Clock(WEDNESDAY)
    store = await open_store(tmp_path / "bot.sqlite3")
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
    assert (
        wednesday_counts.started,
        wednesday_counts.requested,
        wednesday_counts.claimed,
        wednesday_counts.crisis,
    ) == (3, 2, 2, 1)
    assert (thursday_counts.started, thursday_counts.requested, thursday_counts.claimed, thursday_counts.crisis) == (
        1,
        1,
        1,
        0,
    )
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


def busy_two_days() -> list[tuple[int, str, str, int]]:
    """Counter rows for two busy days, every count big enough to be shown."""
    wednesday, thursday = date(2026, 11, 25).toordinal(), date(2026, 11, 26).toordinal()
    return [
        (wednesday, "conversation", "started", 1200),
        (wednesday, "handoff", "requested", 12),
        (wednesday, "handoff", "claimed", 10),
        (wednesday, "trigger", "crisis", 6),
        (wednesday, "trigger", "help", 7),
        (wednesday, "wait", "10", 6),
        (wednesday, "wait", "45", 4),
        (wednesday, "language", "en", 1190),
        (wednesday, "language", "ro", 10),
        (wednesday, "node", "info.menu", 40),
        (thursday, "conversation", "started", 30),
        (thursday, "handoff", "requested", 5),
        (thursday, "handoff", "claimed", 5),
        (thursday, "wait", "1", 5),
        (thursday, "language", "en", 30),
    ]


def test_the_staff_text_is_formatted_with_babel(bench: Bench) -> None:
    stats = summarise(busy_two_days(), date(2026, 11, 25), date(2026, 11, 26))
    lines = render_text(stats, say(bench), "en").splitlines()
    assert lines[:3] == [
        "Statistics from Nov 25, 2026 to Nov 26, 2026",
        "Wed, Nov 25: 1,200 new · 12 asked for a person · 10 answered · 6 crisis",
        "Thu, Nov 26: 30 new · 5 asked for a person · 5 answered · 0 crisis",
    ]
    assert "In total: 1,230 new · 17 asked for a person · 15 answered · 6 crisis" in lines
    assert "Waiting for a person: half were answered within 10 min, 9 in 10 within 45 min." in lines
    assert "Typed words that opened a topic: help 7" in lines
    assert "Languages: English 1,220, Română 10" in lines
    german = render_text(stats, say(bench), "de").splitlines()
    assert german[1].startswith("Mi., 25. Nov.: 1.200 new")


def test_numbers_dates_and_waits_follow_the_locale() -> None:
    assert Formatter("en").number(12345) == "12,345"
    assert Formatter("de").number(12345) == "12.345"
    assert Formatter("en").date(date(2026, 11, 25)) == "Nov 25, 2026"
    assert Formatter("ro").date(date(2026, 11, 25)) == "25 nov. 2026"
    assert Formatter("en").wait("more") == "> 10,080"


def test_waits_fall_in_buckets_and_percentiles_read_the_bucket_bound() -> None:
    assert [wait_bucket(m) for m in (0, 1, 4, 5, 6, 61, 10080, 10081)] == [
        "1",
        "1",
        "5",
        "5",
        "10",
        "90",
        "10080",
        "more",
    ]
    tally = Tally(waits={"5": 5, "30": 4, "more": 1})
    assert (tally.median, tally.p90, tally.wait_percentile(1.0)) == ("5", "30", "more")
    assert Tally().median is None


def test_csv_has_a_row_per_day_and_a_column_per_trigger_language_and_node() -> None:
    rows = [
        (date(2026, 1, 2).toordinal(), "conversation", "started", 20),
        (date(2026, 1, 2).toordinal(), "language", "en", 20),
        (date(2026, 1, 3).toordinal(), "conversation", "started", 6),
        (date(2026, 1, 3).toordinal(), "language", "en", 6),
        (date(2026, 1, 3).toordinal(), "trigger", "crisis", 5),
        (date(2026, 1, 3).toordinal(), "trigger", "pep", 7),
        (date(2026, 1, 3).toordinal(), "handoff", "claimed", 5),
        (date(2026, 1, 3).toordinal(), "wait", "15", 5),
    ]
    text = render_csv(summarise(rows, date(2026, 1, 1), date(2026, 1, 3)))
    assert text.splitlines() == [
        "date,conversations_started,handoffs_requested,handoffs_claimed,wait_median_minutes,wait_p90_minutes,"
        "crisis_triggers,trigger:pep,language:en",
        "2026-01-01,0,0,0,,,0,0,0",
        "2026-01-02,20,0,0,,,0,0,20",
        "2026-01-03,6,0,5,15,15,5,7,6",
    ]


def test_days_argument_is_checked() -> None:
    assert [parse_days(a) for a in ("", " 30 ", "366", "0", "367", "-3", "abc", "1.5")] == [
        7,
        30,
        366,
        None,
        None,
        None,
        None,
        None,
    ]


def test_stats_command_prints_text_or_csv(
    write_flows: WriteFlows, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_flows(settings_yaml=SETTINGS)
    db = tmp_path / "stats.sqlite3"
    today = datetime.now(ZoneInfo("Europe/London")).date().toordinal()

    async def one_conversation() -> None:
        store = await open_store(db)
        events = [("conversation", "started"), ("language", "ro")]
        await store.record(b"k" * 32, State("main.menu", "ro", (), today), events, today)
        await store.close()

    asyncio.run(one_conversation())
    env = {"BOT_LOCALES": str(tmp_path / "no-locales")}
    assert cli.main(["stats", "--db", str(db), "--flows", str(directory), "--days", "3"], env) == 0
    out = capsys.readouterr().out
    assert out.startswith("Statistics from ") and len(out.splitlines()) == 1 + 3 + 6
    assert ": <5 new ·" in out and "Languages: none" in out  # one person: nothing that singles them out
    assert cli.main(["stats", "--db", str(db), "--flows", str(directory), "--days", "1", "--csv"], env) == 0
    assert capsys.readouterr().out.splitlines()[1].split(",")[1] == "<5"
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
        # One person: counts under 5 are shown only as that (HTML-escaped for Telegram), and no waiting time.
        assert ": &lt;5 new · &lt;5 asked for a person · &lt;5 answered · 0 crisis" in reply["text"]
        assert "Waiting for a person" not in reply["text"]
        assert "301" not in reply["text"]
        before = len(api.sent_to(STAFF))
        api.group_message(STAFF, "/stats@signpost_test_bot 366")
        await api.wait_for(lambda: any("Most visited" in (m.get("text") or "") for m in api.sent_to(STAFF)[before:]))
        pieces = [m["text"] for m in api.sent_to(STAFF)[before:]]
        assert len(pieces) > 1 and all(len(piece) <= 4096 for piece in pieces)  # a year comes in several messages
        # The last 90 days one by one, the months before them one by one (the store keeps no older days).
        assert pieces[0].startswith("Statistics from ") and sum(p.count("\n") + 1 for p in pieces) >= 1 + 10 + 91
        api.group_message(STAFF, "/stats lots")
        await api.wait_for_text(STAFF, "Use /stats, or /stats DAYS with DAYS from 1 to 366.")


# -- counters that can't single anyone out ------------------------------------------------------

SMALL_NUMBER = re.compile(r"(?<![\d,.])[1-4](?![\d,.])")


def small_numbers(text: str) -> list[str]:
    """Counts from 1 to 4 in the text, dates left out."""
    return SMALL_NUMBER.findall(
        re.sub(
            r"\b(?:\d{4}-\d{2}(?:-\d{2})?|[A-Z][a-z]{2},? [A-Z][a-z]{2} \d{1,2}|[A-Z][a-z]{2} \d{1,2}, \d{4})", "", text
        )
    )


async def one_rare_language_user_among_many(bench: Bench) -> None:
    """Twelve people start in English; one starts in Romanian, says crisis words and asks for a person."""
    for chat in range(200, 212):
        await bench.user(chat, Command("start"))
    await bench.user(999, Command("start"), "ro")
    await bench.user(999, Text("I was attacked"), "ro")
    await bench.user(999, Command("human"), "ro")
    (topic,) = bench.desk.topics
    bench.clock.now += timedelta(minutes=3)
    await bench.staff(topic, "/claim")


async def test_a_day_with_one_rare_language_user_shows_no_cell_under_5(bench: Bench) -> None:
    await one_rare_language_user_among_many(bench)
    stats = await load_stats(bench.handoffs.conversations.store, WEDNESDAY.date(), 1)
    text = render_text(stats, say(bench), "en")
    lines = text.splitlines()
    assert lines[1] == "Wed, Nov 25: 13 new · <5 asked for a person · <5 answered · <5 crisis"
    assert "Română" not in text and "Languages: none" in text  # English 12 of 13 would give the one away
    assert "Waiting for a person" not in text and "3 min" not in text
    assert small_numbers(text) == []
    table = render_csv(stats)
    cells = [cell for line in table.splitlines()[1:] for cell in line.split(",")[1:]]
    assert all(cell in ("", "0", "<5", "5+") or int(cell) >= 5 for cell in cells), table
    assert "language:ro" not in table and "language:en" not in table


def test_a_hidden_count_cannot_be_worked_out_from_the_total() -> None:
    wednesday, thursday, friday = (date(2026, 11, d).toordinal() for d in (25, 26, 27))
    rows = [
        (wednesday, "conversation", "started", 3),
        (thursday, "conversation", "started", 7),
        (friday, "conversation", "started", 9),
    ]
    stats = summarise(rows, date(2026, 11, 25), date(2026, 11, 27))
    days = [line.split(",")[1] for line in render_csv(stats).splitlines()[1:]]
    assert days == ["<5", "5+", "9"]  # 19 - 9 - 7 would be 3: the 7 is hidden too
    text = render_text(stats, lambda key, **values: f"{key} {values}", "en")
    assert "'started': '19'" in text


def test_secondary_suppression_follows_the_totals() -> None:
    cells = {("a", "x"): 3, ("b", "x"): 0, ("c", "x"): 7, ("d", "x"): 9, ("t", "x"): 19}
    column = Group((("a", "x"), ("b", "x"), ("c", "x"), ("d", "x")), ("t", "x"))
    assert protect(cells, [column]) == {("a", "x"): SMALL, ("c", "x"): HIDDEN}
    two_small = {**cells, ("c", "x"): 2, ("t", "x"): 14}
    assert protect(two_small, [column]) == {("a", "x"): SMALL, ("c", "x"): SMALL}  # each could be 1 to 4
    tiny = {("a", "x"): 1, ("b", "x"): 2, ("t", "x"): 3}
    assert protect(tiny, [Group((("a", "x"), ("b", "x")), ("t", "x"))]) == {k: SMALL for k in tiny}


async def test_old_days_are_shown_by_month_after_the_purge_rolls_them_up(bench: Bench) -> None:
    store = bench.handoffs.conversations.store
    today = date(2026, 12, 3)
    for days_ago, count in ((120, 4), (110, 3), (100, 8), (2, 6)):
        day = (today - timedelta(days=days_ago)).toordinal()
        await store.count(day, [("conversation", "started")] * count)
    await store.purge(today.toordinal(), retention_days=30)
    assert await store.counters(0, (today - timedelta(days=91)).toordinal()) == []  # no day older than 90 is kept
    stats = await load_stats(store, today, 366)
    lines = render_text(stats, say(bench), "en").splitlines()
    assert "Aug 2026: 15 new · 0 asked for a person · 0 answered · 0 crisis" in lines  # 4 + 3 + 8
    assert sum(" 2026: " in line or " 2025: " in line for line in lines) == 10  # Dec 2025 … Sep 2026
    assert any(line.startswith("Tue, Dec 1: 6 new") for line in lines)
    assert "In total: 21 new · 0 asked for a person · 0 answered · 0 crisis" in lines
    csv_dates = [line.split(",")[0] for line in render_csv(stats).splitlines()[1:]]
    assert csv_dates[:2] == ["2025-12", "2026-01"] and csv_dates[-1] == "2026-12-03"
