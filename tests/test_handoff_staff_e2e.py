"""Nothing silent, the user in a live chat answered, and no identity reaching staff: end to end
through the fake Bot API."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.fakebotapi import FakeBotAPI
from tests.test_handoff_lifecycle_e2e import (
    WEDNESDAY_NOON,
    Clock,
    main_thread_texts,
    open_case,
    staff_texts,
)
from tests.test_telegram_e2e import STAFF, USER, running_bot

PHOTO = [{"file_id": "p1", "file_unique_id": "up1", "width": 90, "height": 90}]
ANONYMOUS_ADMIN = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}


async def test_a_long_staff_reply_is_split_not_refused(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=Clock(WEDNESDAY_NOON)) as bot:
        thread = await open_case(bot)
        api.group_message(STAFF, ("All the details you asked for. " * 160).strip(), thread_id=thread)
        await api.wait_for(lambda: sum(t.startswith("<b>Support worker</b>\n") for t in api.texts_to(USER)) == 2)
        assert not api.failed_calls


async def test_a_photo_with_a_caption_too_long_arrives_with_the_caption_as_text(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=Clock(WEDNESDAY_NOON)) as bot:
        thread = await open_case(bot)
        api.group_message(STAFF, thread_id=thread, photo=PHOTO, caption="Here is the clinic map. " * 50)
        (copy,) = await api.wait_for_calls("copyMessage", chat_id=USER)
        assert copy.params["caption"] == "<b>Support worker</b>"
        await api.wait_for_text(USER, "Here is the clinic map.")


async def test_a_reply_telegram_refuses_is_reported_in_the_topic_with_the_reason(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=Clock(WEDNESDAY_NOON)) as bot:
        thread = await open_case(bot)
        api.group_message(STAFF, "Hello", thread_id=thread)
        await api.wait_for_text(USER, "Hello")
        api.fail_next("copyMessage", status=500, count=20)
        api.group_message(STAFF, thread_id=thread, photo=PHOTO)
        await api.wait_for(
            lambda: any(t.startswith("The messenger refused that reply") for t in staff_texts(api, thread)), timeout=15
        )


async def test_the_main_thread_closed_topics_and_bad_commands_each_get_one_line(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=Clock(WEDNESDAY_NOON)) as bot:
        api.group_message(STAFF, "morning all, anyone seen case K7Q2?")
        await api.wait_for(lambda: any("Users can't see the main thread" in t for t in main_thread_texts(api)))
        api.group_message(STAFF, "/stats ²")
        await api.wait_for(lambda: any(t.startswith("Use /stats") for t in main_thread_texts(api)))
        thread = await open_case(bot)
        api.group_message(STAFF, "/alias", thread_id=thread)
        await api.wait_for(lambda: any(t.startswith("Use /alias NAME") for t in staff_texts(api, thread)))
        api.group_message(STAFF, "/close", thread_id=thread)
        await api.wait_for_calls("closeForumTopic")
        api.group_message(STAFF, "one more thing", thread_id=thread)
        await api.wait_for(lambda: any("is not an open case" in t for t in staff_texts(api, thread)))


async def test_posts_as_the_group_or_a_channel_are_told_to_post_as_a_person(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=Clock(WEDNESDAY_NOON)) as bot:
        thread = await open_case(bot)
        api.group_message(
            STAFF,
            "Hello from the admins",
            thread_id=thread,
            user=ANONYMOUS_ADMIN,
            sender_chat={"id": STAFF, "type": "supergroup", "title": "Staff"},
        )
        await api.wait_for(lambda: any("posted as the group or a channel" in t for t in staff_texts(api, thread)))
        assert not any("Hello from the admins" in t for t in api.texts_to(USER))


async def test_commands_for_another_bot_and_service_messages_are_not_for_us(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=Clock(WEDNESDAY_NOON)) as bot:
        thread = await open_case(bot)
        api.group_message(STAFF, "/close@OtherBot", thread_id=thread)
        api.group_message(
            STAFF,
            thread_id=thread,
            pinned_message={"message_id": 1, "date": 0, "chat": {"id": STAFF, "type": "supergroup"}},
        )
        api.group_message(STAFF, "/alias@signpost_test_bot Sam", thread_id=thread)
        await api.wait_for(lambda: any("now sees you as" in t for t in staff_texts(api, thread)))
        (case,) = await bot.transport.conversations.store.open_cases()
        assert case.claimed is None and case.staff_alias == "Sam"  # neither closed nor claimed by those


async def test_invisible_and_right_to_left_characters_are_taken_out_of_an_alias(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=Clock(WEDNESDAY_NOON)) as bot:
        thread = await open_case(bot)
        api.group_message(STAFF, "/alias \u200bS\u202eam\u2066", thread_id=thread)
        await api.wait_for(lambda: any("now sees you as “Sam”" in t for t in staff_texts(api, thread)))
        api.group_message(STAFF, "/alias \u200b\u200f", thread_id=thread)
        await api.wait_for(lambda: any(t.startswith("Use /alias NAME") for t in staff_texts(api, thread)))


async def test_bot_commands_in_a_live_chat_are_answered_by_the_bot_and_only_plain_messages_go_to_staff(
    tmp_path: Path,
) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=Clock(WEDNESDAY_NOON)) as bot:
        await open_case(bot)
        api.user_sends_text(USER, "/menu")
        await api.wait_for_text(USER, "What can I help with?")
        await api.wait_for_text(USER, "Your chat with our team is still open")
        api.user_sends_text(USER, "/help")
        await api.wait_for_text(USER, "Tap a button, or type its number")
        text = api.user_sends_text(USER, "just a question")
        (copy,) = await api.wait_for_calls("copyMessage", chat_id=STAFF)
        assert copy.params["message_id"] == text  # the commands stayed with the bot


async def test_a_captioned_photo_is_checked_for_crisis_words(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=Clock(WEDNESDAY_NOON)) as bot:
        thread = await open_case(bot)
        api.user_sends(USER, "photo", caption="he attacked me, I'm not safe")
        await api.wait_for_text(USER, "Call 999")
        await api.wait_for(
            lambda: any(t.startswith("⚠ The user's last message has crisis words") for t in staff_texts(api, thread))
        )
        in_topic = [m["method"] for m in api.sent_to(STAFF, thread)]
        assert in_topic[-2:] == ["copyMessage", "sendMessage"]  # the photo, then the flag about it


async def test_contact_cards_and_locations_never_reach_staff(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=Clock(WEDNESDAY_NOON)) as bot:
        thread = await open_case(bot)
        api.user_sends(USER, "contact")
        api.user_sends(USER, "location")
        api.user_sends(USER, "location", location={"latitude": 51.5, "longitude": -0.12, "live_period": 900})
        await api.wait_for(lambda: sum("Please don't share your location" in t for t in api.texts_to(USER)) == 3)
        await api.wait_for(
            lambda: staff_texts(api, thread).count("[the user tried to share a location; it was not passed on]") == 2
        )
        assert "[the user tried to share a contact card; it was not passed on]" in staff_texts(api, thread)
        assert api.calls_to("copyMessage", STAFF) == [] and api.calls_to("forwardMessage") == []
        assert "447700900123" not in str([c.params for c in api.calls])


async def test_an_edit_to_a_relayed_message_reaches_staff_marked_as_an_edit(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=Clock(WEDNESDAY_NOON)) as bot:
        thread = await open_case(bot)
        sent = api.user_sends_text(USER, "call me on 07700 900123")
        await api.wait_for_calls("copyMessage", chat_id=STAFF)
        api.user_edits(USER, sent, "sorry, ignore the number")
        await api.wait_for(
            lambda: any(
                t.startswith("✎ The user edited an earlier message. It now reads:\nsorry, ignore")
                for t in staff_texts(api, thread)
            )
        )


async def test_closed_topics_are_deleted_after_the_transcript_days_and_forget_deletes_earlier_ones(
    tmp_path: Path,
) -> None:
    clock = Clock(WEDNESDAY_NOON)
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=clock) as bot:
        first = await open_case(bot, 301)
        second = await open_case(bot, 302)
        for thread in (first, second):
            api.group_message(STAFF, "/close", thread_id=thread)
        await api.wait_for_calls("closeForumTopic", count=2)
        api.user_sends_text(302, "/forget")
        (deleted,) = await api.wait_for_calls("deleteForumTopic")
        assert deleted.params["message_thread_id"] == second
        await api.wait_for(
            lambda: any(
                t.startswith("A user asked to be forgotten: the topics of their earlier cases")
                for t in main_thread_texts(api)
            )
        )
        clock.now += timedelta(days=29)
        await bot.transport.handoffs.ticker.tick()
        assert len(api.calls_to("deleteForumTopic")) == 1  # still within the 30 days
        clock.now += timedelta(days=2)
        await bot.transport.handoffs.ticker.tick()
        calls = await api.wait_for_calls("deleteForumTopic", count=2)
        assert calls[-1].params["message_thread_id"] == first


async def test_a_user_opening_chats_over_and_over_gets_their_last_topic_back(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=Clock(WEDNESDAY_NOON)):
        # Four rounds stay inside the staff group's 20 posts a minute (topics, notes and closes all count).
        for n in range(1, 5):
            api.user_sends_text(USER, "/human")
            await api.wait_for(
                lambda n=n: sum("End chat" in str(m.get("reply_markup")) for m in api.sent_to(USER)) == n
            )
            api.user_sends_text(USER, "/end")
            await api.wait_for(lambda n=n: sum("You've left the chat" in t for t in api.texts_to(USER)) == n)
        assert len(api.calls_to("createForumTopic")) == 3
        assert [c.params["message_thread_id"] for c in api.calls_to("reopenForumTopic")] == [503]
        assert any(t.startswith("This user opened several chats") for t in staff_texts(api, 503))
