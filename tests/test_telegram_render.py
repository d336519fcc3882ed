"""Rendering replies for Telegram: escaping, splitting, cards, keyboards, callback data."""

from __future__ import annotations

import html

from bot.engine import Button, Pick, Reply, ServiceCard
from bot.transports.telegram.render import (
    MAX_MESSAGE,
    decode_callback,
    encode_callback,
    node_tags,
    render_reply,
    split_text,
)
from bot.vocabulary import LANGUAGE_MENU

TAGS = node_tags(["main.menu", "testing.a_rather_long_node_identifier_written_by_staff"])


def test_callback_data_round_trips_and_stays_under_64_bytes() -> None:
    for button in (
        Button("x", "testing.a_rather_long_node_identifier_written_by_staff", "c:12"),
        Button("x", "main.menu", "next"),
        Button("x", LANGUAGE_MENU, "lang:zh_Hans"),
    ):
        data = encode_callback(button)
        assert len(data.encode()) <= 64
        assert decode_callback(data, TAGS) == Pick(button.node, button.action)


def test_forged_or_stale_callback_data_is_rejected() -> None:
    good = encode_callback(Button("x", "main.menu", "c:0"))
    for forged in (
        None,
        "",
        "v0" + good[2:],
        good.replace("c:0", "c:0; drop"),
        "v1:deadbeef00:c:0",
        good + "x" * 80,
        "garbage",
        "v1::menu",
    ):
        assert decode_callback(forged, TAGS) is None, forged


def test_text_is_escaped_for_html() -> None:
    (message,) = render_reply(Reply(("Use <b> & enjoy",)))
    assert message.html == "Use &lt;b&gt; &amp; enjoy"


def test_long_text_is_split_into_valid_messages_without_losing_words() -> None:
    words = [f"word{i}&<" for i in range(3000)]
    text = " ".join(words[:1500]) + "\n\n" + " ".join(words[1500:])
    pieces = split_text(text)
    assert len(pieces) > 1
    assert all(0 < len(html.escape(p, quote=False)) <= MAX_MESSAGE for p in pieces)
    assert " ".join(" ".join(pieces).split()) == " ".join(text.split())


def test_unbroken_text_is_cut_without_splitting_an_escape() -> None:
    pieces = split_text("&" * 5000)
    assert all(len(html.escape(p, quote=False)) <= MAX_MESSAGE for p in pieces)
    assert "".join(pieces) == "&" * 5000


def test_services_become_cards_with_url_buttons_and_the_choices_come_last() -> None:
    card = ServiceCard("nhs_111", "NHS <111>", "Urgent & fast", "111", None, "https://111.nhs.uk", "24/7")
    reply = Reply(("Go now.",), (Button("Back", "testing.pep", "next"),), (card,))
    messages = render_reply(reply)
    assert [m.keyboard is None for m in messages] == [True, False]
    assert messages[1].html == "<b>NHS &lt;111&gt;</b>\nUrgent &amp; fast\n☎ 111\n🕒 24/7"
    rows = messages[1].keyboard.inline_keyboard  # type: ignore[union-attr]
    assert rows[0][0].url == "https://111.nhs.uk" and rows[0][0].text == "🌐 NHS <111>"
    assert rows[1][0].text == "Back" and rows[1][0].callback_data.startswith("v1:")


def test_a_menu_shown_again_reuses_its_rendered_messages() -> None:
    first = render_reply(Reply(("Pick one.",), (Button("Clinic", "info.menu", "c:0"),)))
    again = render_reply(Reply(("Pick one.",), (Button("Clinic", "info.menu", "c:0"),)))
    assert again is first and again[0].keyboard is not None


def test_each_part_is_its_own_message_and_only_the_last_has_buttons() -> None:
    messages = render_reply(Reply(("One.", "Two."), (Button("Menu", "main.menu", "menu"),)))
    assert [m.html for m in messages] == ["One.", "Two."]
    assert messages[0].keyboard is None and messages[1].keyboard is not None


def test_only_text_with_a_url_or_domain_may_show_a_link_preview() -> None:
    for text in ("Visit https://example.org", "Book at sexualhealth.nhs.uk today", "See NCII.org"):
        (message,) = render_reply(Reply((text,)))
        assert message.may_preview, text
    for text in ("Tests are free. Results in a week.", "Call 0808 802 0000, 10:00 to 16:00.", "£1,000 a year"):
        (message,) = render_reply(Reply((text,)))
        assert not message.may_preview, text
