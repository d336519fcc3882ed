"""One step's working context: the user's state as it changes, and what the reply has gathered so far.

The other engine modules are functions of a StepContext: they move `state` on and add notes, effects and events;
`outcome` then turns all of it into the step's Outcome.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.engine.pages import Pages
from bot.engine.types import Effect, Outcome, Reply, Staff, State
from bot.flows import FlowSet, Node
from bot.vocabulary import LANGUAGE_MENU, NATION_MENU

STAFF_SLOT = "{staff}"  # in a node's text: replaced by the line about whether a person can answer now
STAFF_UNKNOWN = Staff()  # no staff hours set: nothing is promised about a person


class StepContext:
    """One step's working context, shared by the functions that handle each kind of input."""

    def __init__(self, flows: FlowSet, state: State, now: datetime, staff: Staff = STAFF_UNKNOWN) -> None:
        self.flows = flows
        self.staff = staff
        self.missed = False
        self.settings = flows.settings
        locale = state.locale if state.locale in self.settings.languages else self.settings.default_language
        self.state = replace(state, locale=locale, day=now.date().toordinal())
        self.locale = locale
        self.events: list[tuple[str, str]] = []
        self.effects: list[Effect] = []
        self.notes: list[str] = []  # parts said before the node's own text

    def t(self, msgid: str) -> str:
        return self.flows.texts.get(self.locale, msgid)

    def message(self, key: str) -> str:
        return self.t(self.flows.messages[key])

    def current(self) -> Node | None:
        node = self.state.node
        return self.flows.nodes.get(node) if node else None

    def outcome(self, reply: Reply) -> Outcome:
        if not self.missed and self.state.misses:
            self.state = replace(self.state, misses=0)
        return Outcome(self.state, reply, tuple(self.effects), tuple(self.events))

    @property
    def pages(self) -> Pages:
        """The pages in the user's language, for their nation, as they are at this point of the step."""
        return Pages(self.flows, self.locale, self.state.nation)

    def render(self, node: Node) -> Reply:
        reply = self.pages.view(node).reply
        if any(STAFF_SLOT in part for part in reply.parts):
            line = self.staff_line()
            reply = replace(reply, parts=tuple(part.replace(STAFF_SLOT, line) for part in reply.parts))
        if self.notes:
            return replace(reply, parts=(*self.notes, *reply.parts))
        return reply

    def staff_line(self) -> str:
        """The honest line about a person: in now, back at a time, or not known (never a promise)."""
        if self.staff.status == "in":
            return self.message("person_now")
        if self.staff.status == "out" and self.staff.back:
            return self.message("person_back").replace("{when}", self.staff.back)
        return self.message("person_unknown")

    def reshow(self, lead: str) -> Reply:
        """Say `lead`, then offer the current choices again (or the menu if there are none)."""
        self.notes.append(lead)
        return self.reshow_notes()

    def reshow_notes(self) -> Reply:
        """Say the notes so far, then offer the current choices again (or the menu if there are none)."""
        if self.state.node == LANGUAGE_MENU:
            return Reply(tuple(self.notes), self.pages.language_buttons())
        if self.state.node == NATION_MENU:
            return Reply(tuple(self.notes), self.pages.nation_buttons())
        node = self.current() or self.flows.nodes[self.settings.menu]
        return Reply(tuple(self.notes), self.pages.view(node).reply.buttons)
