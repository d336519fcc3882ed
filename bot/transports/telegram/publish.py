"""Staff change the flows from the staff group's main thread, without a terminal.

`/flows` sends the live flows as a zip (`/flows main.yaml`: one file); edited .yaml files (or a zip)
sent back as documents become the draft, checked as `python -m bot check` would; `/try` shows the
draft in the sender's own private chat with the bot; `/publish` makes it live (keeping the previous
flows as a version), `/discard` drops it, `/versions` lists the kept versions and `/rollback N` goes
back to one. Only the group's admins may do any of it. Nothing here logs names, ids or file contents.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date

from telegram import Document, InputFile, Message
from telegram.error import TelegramError

from bot.config import drafts_dir
from bot.conversation import Conversations
from bot.flows import FlowSet
from bot.handoff.staffside import clean_alias
from bot.publishing.review import Review, review
from bot.publishing.summary import compare
from bot.publishing.versions import NoSuchVersion, Versions
from bot.publishing.workspace import MAX_ZIP_BYTES, UploadRefused, Workspace
from bot.reload import Reloader
from bot.transports.telegram.private import TRANSPORT
from bot.wording import staff_text

log = logging.getLogger(__name__)

COMMANDS = frozenset({"flows", "try", "publish", "discard", "versions", "rollback"})
VERSIONS_LISTED = 10
ALIAS_MAX = 32


@dataclass
class Publishing:
    """The draft, try, publish and versions commands of the staff group's main thread."""

    conversations: Conversations
    reloader: Reloader
    workspace: Workspace
    versions: Versions
    is_admin: Callable[[Message], Awaitable[bool]]
    post: Callable[[str], Awaitable[None]]
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one change to the draft or the flows at a time

    def say(self, key: str, /, **values: object) -> str:
        """A staff note in the default language."""
        return staff_text(self.conversations.flows, key, **values)

    async def handle(self, message: Message, command: str, arg: str) -> bool:
        """Act on a main-thread message if it is one of these commands or a sent file; whether it was."""
        if command not in COMMANDS and (command or message.document is None):
            return False
        if not await self.is_admin(message):
            await self.post(self.say("staff_publish_admins_only"))
            return True
        try:
            async with self._lock:
                await self.run(message, command, arg)
        except OSError as exc:
            # The flows or drafts folder can't be written: the code's own read-only copy is being used.
            log.warning("could not change the flows' files: %s", type(exc).__name__)
            await self.post(self.say("staff_flows_not_writable", error=exc.strerror or type(exc).__name__))
        return True

    async def run(self, message: Message, command: str, arg: str) -> None:
        """One command or sent file, from an admin, under the lock."""
        if message.document is not None and not command:
            await self.upload(message.document)
        elif command == "flows":
            await self.download(message, arg)
        elif command == "try":
            await self.try_draft(message)
        elif command == "publish":
            await self.publish(arg)
        elif command == "discard":
            self.end_tries()
            dropped = await asyncio.to_thread(self.workspace.discard)
            await self.post(self.say("staff_draft_discarded" if dropped else "staff_no_draft"))
        elif command == "versions":
            await self.list_versions()
        else:
            await self.rollback(arg)

    async def download(self, message: Message, name: str) -> None:
        """The live flows as a zip, or one file of them."""
        try:
            if name:
                data = await asyncio.to_thread(self.workspace.live_file, name)
                file_name = name if name.endswith(".yaml") else f"{name}.yaml"
            else:
                data, file_name = await asyncio.to_thread(self.workspace.live_zip), "flows.zip"
        except UploadRefused as exc:
            await self.post(self.say("staff_upload_refused", reason=exc))
            return
        await message.get_bot().send_document(
            message.chat_id, InputFile(data, filename=file_name), caption=self.say("staff_flows_caption")
        )

    async def upload(self, document: Document) -> None:
        """A sent file goes into the draft, which is checked whole: every problem, or what it changes."""
        name = document.file_name or ""
        if document.file_size is not None and document.file_size > MAX_ZIP_BYTES:
            await self.post(self.say("staff_upload_refused", reason=f"{name} is too big for flows files"))
            return
        try:
            data = bytes(await (await document.get_file()).download_as_bytearray())
        except TelegramError as exc:
            log.warning("could not download a file sent to the staff group: %s", exc.message)
            await self.post(self.say("staff_upload_refused", reason=exc.message))
            return
        try:
            await asyncio.to_thread(self.workspace.accept, name, data)
        except UploadRefused as exc:
            await self.post(self.say("staff_upload_refused", reason=exc))
            return
        result = await self.check_draft()
        if result.flows is not None:
            # Whoever is trying the draft walks the new one from their next message.
            for key in self.conversations.trying:
                self.conversations.trying[key] = result.flows
            await self.post(self.describe(result))

    async def check_draft(self) -> Review:
        """Check the draft as it stands; its problems are posted, so the caller acts only on a sound one."""
        result = await asyncio.to_thread(review, self.workspace.draft_dir, self.reloader.locales_dir, date.today())
        if result.flows is None:
            await self.post("\n".join([self.say("staff_draft_problems", count=len(result.errors)), *result.errors]))
        return result

    def describe(self, result: Review) -> str:
        """What the draft changes against the live flows, its translations, and what to do next."""
        assert result.flows is not None
        changes = compare(self.conversations.flows, result.flows)
        lines = [self.say("staff_draft_ok", warnings=result.warnings)]
        if changes.empty:
            lines.append(self.say("staff_draft_same"))
        lines += [self.say(f"staff_draft_{kind}", list=ids) for kind, ids in changes.kinds()]
        if result.coverage:
            languages = ", ".join(f"{language.code} {language.percent}%" for language in result.coverage)
            lines.append(self.say("staff_draft_coverage", list=languages))
        lines.append(self.say("staff_draft_next"))
        return "\n".join(lines)

    def summary_line(self, draft: FlowSet) -> str:
        """The changes in one line, for a version's meta.yaml and the /versions list."""
        changes = compare(self.conversations.flows, draft)
        return "; ".join(f"{kind.replace('_', ' ')}: {ids}" for kind, ids in changes.kinds()) or "no changes"

    async def try_draft(self, message: Message) -> None:
        """The sender's own private chat with the bot shows the draft until /publish, /discard or a restart."""
        if not self.workspace.has_draft():
            await self.post(self.say("staff_no_draft"))
            return
        result = await self.check_draft()
        if result.flows is None or message.from_user is None:
            return
        # The private chat's id is the user's id; only its pseudonymous key is kept, and only in memory.
        key = self.conversations.keyring.user_key(TRANSPORT, message.from_user.id)
        self.conversations.trying[key] = result.flows
        await self.post(self.say("staff_try_on"))

    async def publish(self, alias: str, summary: str | None = None) -> None:
        """Keep the live flows as a version, make the draft live through the reloader, end every /try."""
        if not self.workspace.has_draft():
            await self.post(self.say("staff_no_draft"))
            return
        result = await self.check_draft()
        if result.flows is None:
            return
        who = clean_alias(alias)[:ALIAS_MAX] or self.say("staff_default_alias")
        line = summary or self.summary_line(result.flows)
        number = await asyncio.to_thread(self.versions.keep, who, self.conversations.local_now(), line)
        await asyncio.to_thread(self.workspace.publish)
        self.end_tries()
        await self.reloader.reload("publish")  # the same path as an edit on disk; its notice goes to staff
        await self.post(self.say("staff_published", number=number))

    async def list_versions(self) -> None:
        """The last kept versions, newest first."""
        kept = await asyncio.to_thread(self.versions.latest, VERSIONS_LISTED)
        if not kept:
            await self.post(self.say("staff_versions_none"))
            return
        lines = [self.say("staff_versions_header")]
        lines += [
            self.say("staff_versions_line", number=v.number, when=v.when, alias=v.published_by, summary=v.summary)
            for v in kept
        ]
        await self.post("\n".join(lines))

    async def rollback(self, arg: str) -> None:
        """Version N becomes the draft and is published at once (so the flows it replaces are kept too)."""
        wanted, _, alias = arg.strip().partition(" ")
        if not wanted.isdigit():
            await self.post(self.say("staff_rollback_usage"))
            return
        number = int(wanted)
        try:
            files = await asyncio.to_thread(self.versions.files, number)
        except NoSuchVersion:
            await self.post(self.say("staff_rollback_usage"))
            return
        await asyncio.to_thread(self.workspace.start_from, files)
        await self.publish(alias, self.say("staff_rollback_summary", number=number))

    def end_tries(self) -> None:
        """Everyone trying the draft is back on the live flows."""
        self.conversations.trying.clear()


def publishing(
    conversations: Conversations,
    reloader: Reloader,
    is_admin: Callable[[Message], Awaitable[bool]],
    post: Callable[[str], Awaitable[None]],
) -> Publishing:
    """Publishing for the flows the reloader watches: the draft beside them, the versions inside them."""
    workspace = Workspace(reloader.flows_dir, drafts_dir(reloader.flows_dir))
    return Publishing(conversations, reloader, workspace, Versions(reloader.flows_dir), is_admin, post)
