"""The console transport: the same engine and store in a terminal, no token needed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from bot.conversation import Conversations
from bot.engine import (
    Button,
    ClearChat,
    Command,
    Forget,
    Handoff,
    Inbound,
    Outcome,
    Pick,
    Reply,
    ServiceCard,
    Text,
)
from bot.handoff.relays import RelayItem
from bot.handoff.service import Handoffs
from bot.handoff.stafftools import GROUP_TOOLS
from bot.runtime import Runtime
from bot.transports.signal.render import ansi, in_case, signal_reply, swap
from bot.vocabulary import parse_slash

TRANSPORT = "console"
QUIT = frozenset({"/quit", "/q"})


async def operator_is_admin() -> bool:
    """At the console, the one running it is the staff group's admin too."""
    return True


def parse_input(line: str) -> Inbound:
    """A typed line as the engine sees it: `/name arg` is a command, anything else is text."""
    slash = parse_slash(line)
    return Command(slash.name, slash.arg) if slash else Text(line.strip())


def render_card(card: ServiceCard) -> str:
    """A service as a few indented lines; icons rather than words, so nothing needs translating."""
    lines = [f"  ▸ {card.name}: {card.about}"]
    details = [
        f"☎ {card.phone}" if card.phone else "",
        f"💬 {card.text}" if card.text else "",
        f"🌐 {card.url}" if card.url else "",
        f"🕒 {card.hours}" if card.hours else "",
    ]
    details = [d for d in details if d]
    if details:
        lines.append("    " + " · ".join(details))
    return "\n".join(lines)


def render(reply: Reply) -> str:
    """The reply as terminal text: parts, service cards, then numbered choices."""
    blocks = list(reply.parts)
    if reply.services:
        cards = [render_card(card) for card in reply.services]
        blocks.append("\n".join([reply.services_title, *cards] if reply.services_title else cards))
    if reply.buttons:
        blocks.append("\n".join(f"  {i}. {button.label}" for i, button in enumerate(reply.buttons, start=1)))
    return "\n\n".join(blocks)


def describe_effects(outcome: Outcome) -> list[str]:
    """Operator-facing notes for what a messenger would do behind the scenes."""
    notes = []
    for effect in outcome.effects:
        if isinstance(effect, Handoff):
            path = " › ".join(effect.path) or "start"
            notes.append(f"[handoff requested · path: {path}]")
        elif isinstance(effect, Forget):
            notes.append("[session deleted from the database]")
        elif isinstance(effect, ClearChat):
            notes.append("[chat cleared]")
    return notes


@dataclass
class ConsoleDesk:
    """The staff side in the same terminal: topics are numbered, notes are printed with a [staff] tag."""

    out: Callable[[str], None]
    show: Callable[[Reply], None]
    topics: int = 0

    async def open_topic(self, title: str) -> int:
        self.topics += 1
        self.out(f"[staff] topic #{self.topics} opened: {title}")
        return self.topics

    async def note(self, thread_id: int, text: str) -> None:
        self.out(f"[staff #{thread_id}] {text}")

    async def close_topic(self, thread_id: int) -> None:
        self.out(f"[staff] topic #{thread_id} closed")

    async def reopen_topic(self, thread_id: int) -> None:
        self.out(f"[staff] topic #{thread_id} reopened")

    async def delete_topic(self, thread_id: int) -> None:
        self.out(f"[staff] topic #{thread_id} deleted")

    async def tell_user(self, chat_id: int, reply: Reply) -> None:
        self.show(reply)

    async def copy_in(self, chat_id: int, item: RelayItem, thread_id: int) -> None:
        self.out(f"[staff #{thread_id}] user: {item.text or ''}")

    async def send_out(self, chat_id: int, item: RelayItem, staff_alias: str) -> None:
        self.out(f"{staff_alias}: {item.text or ''}\n")


@dataclass
class ConsoleChat:
    """Reads lines, runs them through the shared runtime, prints the replies.

    `/staff TEXT` answers the open case as staff would (`/staff /claim`, `/staff /send testing.where`,
    `/staff /reply here`, `/staff /block 1`, `/staff /close`, …); `/staff /blocked` and `/staff /unblock ALIAS`
    work with no case open.
    With `style="signal"` replies look as a Signal user sees them: numbered text, no buttons.
    """

    runtime: Runtime
    stdin: TextIO
    stdout: TextIO
    language: str | None = None
    chat_id: int = 1
    interactive: bool = False
    last_buttons: tuple[Button, ...] = ()
    handoffs: Handoffs | None = None
    style: str = "plain"  # or "signal"
    locale: str | None = None  # the user's language as of the last step (the Signal style's own line)

    def __post_init__(self) -> None:
        if self.handoffs is None:
            self.handoffs = self.runtime.handoffs(ConsoleDesk(self.write, self.show))

    @property
    def conversations(self) -> Conversations:
        return self.runtime.conversations

    def write(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    async def deliver(self, outcome: Outcome) -> None:
        if any(isinstance(e, ClearChat) for e in outcome.effects) and self.interactive:
            self.stdout.write("\x1b[2J\x1b[H")
        for note in describe_effects(outcome):
            self.write(note)
        self.locale = outcome.state.locale or self.locale
        reply = outcome.reply
        if self.style == "signal" and any(isinstance(e, ClearChat) for e in outcome.effects):
            # Signal lets the bot delete only its own messages, and its reply says so.
            reply = swap(self.conversations.flows, reply, self.user_locale(), "cleared", "signal_cleared")
        self.show(reply)

    def user_locale(self) -> str:
        """The user's language as of the last step."""
        return self.locale or self.language or self.conversations.flows.settings.default_language

    def show(self, reply: Reply) -> None:
        """Print a reply; its buttons become what a typed number picks."""
        if self.style == "signal":
            for message in signal_reply(self.conversations.flows, reply, self.user_locale()):
                # Each Signal message as its own block; bold shows as bold only on a terminal.
                self.write(ansi(message) if self.interactive else message.text)
                self.write("")
            # As on Signal: during a chat with staff no choice is numbered, so a typed number goes to staff.
            self.last_buttons = () if in_case(reply) else reply.buttons
            return
        self.write(render(reply))
        self.write("")
        self.last_buttons = reply.buttons

    async def send(self, inbound: Inbound, typed: str = "") -> None:
        assert self.handoffs is not None

        # The console shows relays as they are sent, so each line waits for its relays before the next.
        relay = RelayItem("in", 0, typed)
        await self.handoffs.turns.take_turn(TRANSPORT, self.chat_id, inbound, self.language, relay, self.deliver)
        await self.handoffs.queues.wait_idle()

    async def staff(self, text: str) -> None:
        """Act as staff in the open case's topic."""
        assert self.handoffs is not None
        if text.strip() == "/queue":
            self.write("[staff] " + await self.handoffs.staff.queue())
            return
        slash = parse_slash(text)
        if slash is not None and slash.name in GROUP_TOOLS:  # /blocked, /unblock ALIAS: no case needed
            self.write("[staff] " + await self.handoffs.tools.group_command(slash.name, slash.arg, operator_is_admin))
            return
        key = self.conversations.keyring.user_key(TRANSPORT, self.chat_id)
        case = await self.conversations.store.case_for_user(key)
        if case is None or case.thread_id is None:
            self.write("[staff] no open case: ask for a person first (e.g. /human)")
            return

        await self.handoffs.staff.staff_input(case.thread_id, text, RelayItem("out", 0, text), operator_is_admin)
        await self.handoffs.queues.wait_idle()

    async def run(self, read_line: Callable[[], str] | None = None) -> None:
        """Chat until end of input or /quit."""
        assert self.handoffs is not None
        read = read_line or self.stdin.readline
        loop = asyncio.get_running_loop()
        self.write("Console chat. Type a number or words; /help for commands, /quit to leave.")
        self.write(
            "Act as staff with /staff TEXT, /staff /claim, /staff /send NAME, /staff /reply NAME, "
            "/staff /block, /staff /close, /staff /queue.\n"
        )
        await self.send(Command("start"))
        while True:
            if self.interactive:
                self.stdout.write("> ")
                self.stdout.flush()
            line = await loop.run_in_executor(None, read)
            if not line or line.strip() in QUIT:
                break
            if not line.strip():
                continue
            await self.runtime.tick(self.handoffs)  # what the bots' chores do every half minute
            stripped = line.strip()
            if stripped.startswith("/staff"):
                await self.staff(stripped[len("/staff") :].strip())
                continue
            inbound = parse_input(line)
            # A bare number picks the button shown last, exactly like tapping it.
            if isinstance(inbound, Text) and inbound.text.isdigit():
                index = int(inbound.text) - 1
                if 0 <= index < len(self.last_buttons):
                    button = self.last_buttons[index]
                    inbound = Pick(button.node, button.action)
            await self.send(inbound, stripped)
