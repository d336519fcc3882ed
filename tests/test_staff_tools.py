"""Saved replies are checked like the other flows files, and the staff tools' small rules."""

from __future__ import annotations

from bot.engine import Button, Reply
from bot.flows import check, load
from bot.flows.yamlsource import parse_yaml
from bot.handoff.stafftools import DEFAULT_BLOCK_DAYS, block_days, plain, preview
from bot.i18n.extract import texts_in
from tests.conftest import FLOWS, WriteFlows, shipped


def test_a_flows_folder_without_replies_loads_with_none(write_flows: WriteFlows) -> None:
    assert dict(load(write_flows()).replies) == {}


def test_saved_replies_load_by_name(write_flows: WriteFlows) -> None:
    flows = load(write_flows(replies_yaml='here: "I\'m here."\nclinic_details: "Shall I send a clinic?"\n'))
    assert dict(flows.replies) == {"here": "I'm here.", "clinic_details": "Shall I send a clinic?"}
    assert "here" not in flows.flows  # not read as a flow


def test_a_reply_name_staff_cannot_type_or_an_empty_reply_is_an_error_naming_the_line(write_flows: WriteFlows) -> None:
    report = check(write_flows(replies_yaml='here: "I\'m here."\nClinic Details: "Shall I?"\nempty: ""\n'))
    problems = [(p.file.split("/")[-1], p.line, p.what) for p in report.problems if p.severity == "error"]
    assert ("replies.yaml", 2, "saved reply name `Clinic Details` can't be typed after /reply") in problems
    assert ("replies.yaml", 3, "saved reply `empty` is empty") in problems
    assert report.flowset is None


def test_saved_replies_are_extracted_for_translators_with_a_note() -> None:
    doc = parse_yaml((FLOWS / "replies.yaml").read_text(encoding="utf-8"), "replies.yaml")
    found = {item.text: item.comments for item in texts_in("replies.yaml", doc)}
    assert set(found) == set(shipped().replies.values())
    assert found["I'm here. Take your time, there's no rush."][0].startswith("saved reply here:")


def test_every_shipped_saved_reply_is_translated_in_every_language() -> None:
    flows = shipped()
    for code in flows.settings.languages:
        if code != flows.settings.default_language:
            assert all(text in flows.texts.catalogs[code] for text in flows.replies.values()), code


def test_block_days_default_to_thirty_and_refuse_anything_but_a_day_count() -> None:
    assert block_days("") == DEFAULT_BLOCK_DAYS == 30
    assert block_days(" 7 ") == 7
    assert [block_days(bad) for bad in ("0", "-1", "366", "two", "1.5")] == [None] * 5


def test_staff_read_a_sent_page_as_its_words_then_its_buttons_in_brackets() -> None:
    reply = Reply(("Here's where to go.",), (Button("Back", "testing.where", "c:4"),))
    assert plain(reply) == "Here's where to go.\n\n[Back]"
    assert preview("word " * 40).endswith("…") and len(preview("word " * 40)) == 60
