"""Staff tools in a case: send a page or a service card by name, saved replies, and blocks.

Staff write in English; these let them answer in the user's language with reviewed text. `/send NAME`
shows the user a page (or a service card) exactly as the bot would, buttons and all, and moves the
user onto that page so the buttons answer from there; staff see the English. `/reply NAME` sends a saved
reply (flows/replies.yaml) translated, under the staff alias like any reply. `/block [DAYS]` (group
admins) closes the case and keeps the person from opening another for a while: stored by their
pseudonymous key and the case alias only, and they still get the menus and crisis pages.

Transport-agnostic, like the rest of the handoff: the Telegram topics and the console's staff mode both
come here through `StaffSide.staff_input`, and the user is reached through their own messenger.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING

from bot.engine import Button, Reply, State
from bot.engine.pages import Pages
from bot.flows import FlowSet, Node, suggest
from bot.handoff.cases import Case
from bot.handoff.relays import RelayItem

if TYPE_CHECKING:
    from bot.handoff.service import Handoffs

# Commands in a case topic, and those that work anywhere in the staff group (the case may be closed).
CASE_TOOLS = ("send", "reply", "block")
GROUP_TOOLS = ("unblock", "blocked")
DEFAULT_BLOCK_DAYS = 30
MAX_BLOCK_DAYS = 365
PREVIEW = 60  # characters of a page's first message shown in the /send list
STAFF_SLOT = "{staff}"  # as the engine fills it: the line about whether a person can answer now

IsAdmin = Callable[[], Awaitable[bool]]


def preview(text: str, limit: int = PREVIEW) -> str:
    """A text on one line, cut to `limit` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def plain(reply: Reply) -> str:
    """A reply as staff read it in a note: its messages, its service cards, then its buttons in brackets."""
    blocks = list(reply.parts)
    cards = [f"• {card.name}: {card.about}" + (f" ({card.phone})" if card.phone else "") for card in reply.services]
    if cards:
        blocks.append("\n".join([reply.services_title, *cards] if reply.services_title else cards))
    if reply.buttons:
        blocks.append(" ".join(f"[{button.label}]" for button in reply.buttons))
    return "\n\n".join(blocks)


@dataclass
class StaffTools:
    """The staff tools over one handoff service (its store, flows, desk and messengers)."""

    handoffs: Handoffs

    @property
    def flows(self) -> FlowSet:
        return self.handoffs.flows

    async def note(self, case: Case, text: str) -> None:
        await self.handoffs.staff_note(case.thread_id or 0, text)

    async def case_command(self, case: Case, name: str, arg: str, is_admin: IsAdmin | None) -> None:
        """A staff tool used in the case's topic."""
        if name == "send":
            await self.send(case, arg)
        elif name == "reply":
            await self.reply(case, arg)
        elif name == "block":
            await self.block(case, arg, is_admin)

    async def group_command(self, name: str, arg: str, is_admin: IsAdmin | None) -> str:
        """A staff tool that needs no open case (`/unblock`, `/blocked`); returns the answer for staff."""
        say = self.handoffs.staff_say
        store = self.handoffs.conversations.store
        if name == "blocked":
            return say("staff_blocked_count", count=await store.blocked_count(self.handoffs.today()))
        if not await admin(is_admin):
            return say("staff_admins_only", command=name)
        alias = arg.strip().upper()
        if not alias:
            return say("staff_unblock_usage")
        if await store.unblock(alias):
            return say("staff_unblocked", alias=alias)
        return say("staff_unblock_unknown", alias=alias)

    # -- /send -----------------------------------------------------------------------------------

    def listing(self) -> str:
        """The answer to /send alone: every page grouped by flow with a short English preview, then the services."""
        flows = self.flows
        lines = [self.handoffs.staff_say("staff_send_list")]
        for flow in flows.flows.values():
            lines.append("")
            lines.append(f"{flow.name}:")
            for node in flows.nodes.values():
                if node.flow == flow.name:
                    lines.append(f"  {node.id} — {preview(node.say[0]) if node.say else ''}")
        lines.append("")
        lines.append(self.handoffs.staff_say("staff_send_services"))
        lines.extend(f"  {sid} — {preview(service.name)}" for sid, service in flows.services.items())
        return "\n".join(lines)

    def resolve(self, name: str) -> Node | str | None:
        """A page by its id (or a flow's name, for its first page), else a service id, else None."""
        flows = self.flows
        if name in flows.nodes:
            return flows.nodes[name]
        if name in flows.flows:
            return flows.nodes[flows.flows[name].start]
        if name in flows.services:
            return name
        return None

    def hint(self, name: str, known: list[str]) -> str:
        """`did you mean …?` when a known name is close, else nothing (the list is one command away)."""
        said = suggest(name, known)
        return "D" + said[1:] if said.startswith("did you mean") else ""

    async def send(self, case: Case, arg: str) -> None:
        """Send a page or a service card to the user in their language; staff see the English."""
        name = arg.strip()
        if not name:
            await self.note(case, self.listing())
            return
        target = self.resolve(name)
        if target is None:
            known = [*self.flows.nodes, *self.flows.flows, *self.flows.services]
            said = self.handoffs.staff_say("staff_send_unknown", name=name, hint=self.hint(name, known))
            await self.note(case, said.replace("  ", " "))
            return
        handoffs = self.handoffs
        address = handoffs.address_of(case)
        if address is None:
            await handoffs.closing.close(case, "staff_link_lost", None)
            return
        if case.claimed is None:
            case = await handoffs.staff.claim(case) or case
        conversations = handoffs.conversations
        touch = (case.alias, handoffs.now_minutes())
        # Under the user's lock: the page becomes their current one before they can press anything on it.
        async with conversations.user(address.transport, address.user) as key:
            state: State | None
            if isinstance(target, Node):
                state = await conversations.place(key, target.id, touch)  # the page and the case's activity: one write
            else:
                state = (await conversations.store.load_turn(key)).state
            locale = (state.locale if state else None) or case.locale
            nation = state.nation if state else None
            reply = self.view(target, locale, nation)
            await handoffs.relaying.tell(case, address, reply)
        if not isinstance(target, Node):
            await conversations.store.touch_case(*touch)
        english = plain(self.view(target, self.flows.settings.default_language, nation))
        await self.note(case, handoffs.staff_say("staff_sent", name=name, language=locale, english=english))

    def view(self, target: Node | str, locale: str, nation: str | None) -> Reply:
        """A page as the bot shows it (its line about staff filled in), or a service card with a way to the menu."""
        pages = Pages(self.flows, locale, nation)
        if isinstance(target, Node):
            reply = pages.view(target).reply
            if any(STAFF_SLOT in part for part in reply.parts):
                line = self.staff_line(locale)
                reply = replace(reply, parts=tuple(part.replace(STAFF_SLOT, line) for part in reply.parts))
            return reply
        card = pages.card(self.flows.services[target])
        menu: Button = self.handoffs.menu_button(locale)
        return Reply((), (menu,), (card,), pages.message("services_title"))

    def staff_line(self, locale: str) -> str:
        """The page's honest line about a person, as the engine words it."""
        conversations = self.handoffs.conversations
        staff = conversations.staff(self.flows, conversations.local_now(), locale)
        if staff.status == "in":
            return self.handoffs.say("person_now", locale)
        if staff.status == "out" and staff.back:
            return self.handoffs.say("person_back", locale).replace("{when}", staff.back)
        return self.handoffs.say("person_unknown", locale)

    # -- /reply ----------------------------------------------------------------------------------

    async def reply(self, case: Case, arg: str) -> None:
        """Send a saved reply in the user's language, under the staff alias; staff see both versions."""
        handoffs = self.handoffs
        replies = self.flows.replies
        name = arg.strip().lower()
        if name not in replies:
            if not name:
                listed = "\n".join(f"  {key} — {preview(text)}" for key, text in replies.items())
                await self.note(case, handoffs.staff_say("staff_reply_list", list=listed))
                return
            said = handoffs.staff_say("staff_reply_unknown", name=name, hint=self.hint(name, list(replies)))
            await self.note(case, said.replace("  ", " "))
            return
        english = replies[name]
        state = (await handoffs.conversations.store.load_turn(case.user_key)).state
        locale = (state.locale if state else None) or case.locale
        settings = self.flows.settings
        translated = locale == settings.default_language or english in self.flows.texts.catalogs.get(locale, {})
        text = self.flows.texts.get(locale, english) if translated else english
        if not await handoffs.queues.put(case.alias, RelayItem("out", 0, text), active=handoffs.now_minutes()):
            await self.note(case, handoffs.staff_say("staff_queue_full"))
            return
        if translated:
            await self.note(
                case, handoffs.staff_say("staff_reply_sent", name=name, language=locale, text=text, english=english)
            )
        else:
            await self.note(
                case, handoffs.staff_say("staff_reply_untranslated", name=name, language=locale, english=english)
            )

    # -- /block ----------------------------------------------------------------------------------

    async def block(self, case: Case, arg: str, is_admin: IsAdmin | None) -> None:
        """Close the case and keep its person from opening another for DAYS days (30 if not given)."""
        handoffs = self.handoffs
        if not await admin(is_admin):
            await self.note(case, handoffs.staff_say("staff_admins_only", command="block"))
            return
        days = block_days(arg)
        if days is None:
            await self.note(case, handoffs.staff_say("staff_block_usage", max=MAX_BLOCK_DAYS))
            return
        until = handoffs.today() + days - 1
        await handoffs.conversations.store.block(case.user_key, case.alias, until)
        await self.note(
            case,
            handoffs.staff_say("staff_blocked", days=days, until=date.fromordinal(until).isoformat(), alias=case.alias),
        )
        await handoffs.closing.close(case, "staff_closed", "handoff_closed")

    async def blocked(self, key: bytes) -> bool:
        """Whether the user is blocked from opening cases today."""
        until = await self.handoffs.conversations.store.blocked_until(key)
        return until is not None and until >= self.handoffs.today()

    def blocked_reply(self, locale: str) -> Reply:
        """What a blocked person asking for a person is told: kindly, with the 24-hour services."""
        cards = self.handoffs.waiting_cards(locale)
        return replace(
            cards, parts=(self.handoffs.say("handoff_blocked", locale),), buttons=(self.handoffs.menu_button(locale),)
        )


def block_days(arg: str) -> int | None:
    """The days of a block from `/block [DAYS]`: 30 when left out, None when not a whole number in range."""
    arg = arg.strip()
    if not arg:
        return DEFAULT_BLOCK_DAYS
    if not arg.isdigit() or not 1 <= int(arg) <= MAX_BLOCK_DAYS:
        return None
    return int(arg)


async def admin(is_admin: IsAdmin | None) -> bool:
    """Whether the staff member is a group admin; without a way to ask, nobody is."""
    return is_admin is not None and await is_admin()
