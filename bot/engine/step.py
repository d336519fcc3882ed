"""The flow engine: `step(flows, state, inbound, now) -> Outcome`. Pure: no I/O, no clock, no Telegram.

Every step yields exactly one reply (one or more message parts, buttons, service cards) plus the
effects a transport must carry out (handoff, forget, clear chat, locale change) and anonymous
events for the daily counters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType

from bot.flows.spec import Choice, FlowSet, Node, Service
from bot.flows.textmatch import fold_case, normalise
from bot.i18n.catalog import language_name
from bot.privacy.identifying import looks_identifying
from bot.vocabulary import (
    CHAT_FEEDBACK,
    COMMANDS,
    CRISIS_TRIGGER,
    FEEDBACK_ANSWERS,
    FIRST_CONTACT_WELCOME,
    LANGUAGE_MENU,
    NATION_MENU,
    PSEUDO_NODES,
    BackAction,
    ChoiceAction,
    FeedbackAction,
    LanguageAction,
    MenuAction,
    NationAction,
    NextAction,
    decode_action,
    encode_action,
)

# The four UK nations as written in services.yaml `regions`, and the message naming each one.
NATIONS: Mapping[str, str] = MappingProxyType({
    "England": "nation_england",
    "Scotland": "nation_scotland",
    "Wales": "nation_wales",
    "Northern Ireland": "nation_northern_ireland",
})
SKIPPED = ""  # the nation question was answered with Skip: asked once, never again
MISSES_BEFORE_MENU = 2
STAFF_SLOT = "{staff}"  # in a node's text: replaced by the line about whether a person can answer now


# -- state and input ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class State:
    """All the engine remembers of a user: where they are, their language, a short way back."""

    node: str | None = None  # None: a conversation not yet started
    locale: str | None = None
    back: tuple[str, ...] = ()
    day: int = 0  # last-seen day as a date ordinal; nothing finer is kept
    nation: str | None = None  # one of NATIONS, SKIPPED, or None when never asked
    misses: int = 0  # typed messages not understood in a row


@dataclass(frozen=True, slots=True)
class Staff:
    """Whether a person can answer now, as the runtime knows it; the engine never reads a clock for it.

    `status` is "in", "out" (then `back` says when, already worded for the user) or "unknown".
    """

    status: str = "unknown"
    back: str = ""


@dataclass(frozen=True, slots=True)
class Text:
    """Free text the user typed."""

    text: str


@dataclass(frozen=True, slots=True)
class Pick:
    """A button press: the node whose message carried the button, and the button's action."""

    node: str
    action: str


@dataclass(frozen=True, slots=True)
class Command:
    """A slash command such as `/start`, without the slash."""

    name: str
    arg: str = ""


@dataclass(frozen=True, slots=True)
class Media:
    """Something that is not text: `kind` is photo, voice, video, sticker, document, location, contact…"""

    kind: str


IDENTIFYING_MEDIA = frozenset({"location", "contact", "venue"})

Inbound = Text | Pick | Command | Media


# -- output ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Button:
    """A choice to show; pressing it comes back as `Pick(node, action)`."""

    label: str
    node: str
    action: str


@dataclass(frozen=True, slots=True)
class ServiceCard:
    """A service, with its texts in the user's language."""

    id: str
    name: str
    about: str
    phone: str | None
    text: str | None
    url: str | None
    hours: str | None


@dataclass(frozen=True, slots=True)
class Reply:
    """What the bot says: message parts in order, then buttons and service cards."""

    parts: tuple[str, ...]
    buttons: tuple[Button, ...] = ()
    services: tuple[ServiceCard, ...] = ()
    # A neutral line shown above the cards, so a lock-screen preview of them gives nothing away.
    services_title: str = ""


@dataclass(frozen=True, slots=True)
class Handoff:
    """The user asked for a person; `path` is the nodes they came through, oldest first."""

    path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Forget:
    """Delete everything kept about this user."""


@dataclass(frozen=True, slots=True)
class ClearChat:
    """Delete this conversation's messages where the messenger allows."""


@dataclass(frozen=True, slots=True)
class SetLocale:
    """The user chose a language."""

    locale: str


Effect = Handoff | Forget | ClearChat | SetLocale


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one step."""

    state: State
    reply: Reply
    effects: tuple[Effect, ...] = ()
    events: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class _NodeView:
    """A node as shown in one locale, and what typed text selects each of its buttons."""

    reply: Reply
    by_text: Mapping[str, Button]


# -- the step -------------------------------------------------------------------------------------


def step(flows: FlowSet, state: State, inbound: Inbound, now: datetime, staff: Staff = Staff()) -> Outcome:
    """Advance one user's conversation by one input; `staff` says whether a person can answer now."""
    return _Step(flows, state, now, staff).run(inbound)


def feedback_buttons(flows: FlowSet, locale: str, node: str = CHAT_FEEDBACK) -> tuple[Button, ...]:
    """The one-tap "Did this help?" answers for `node` (a service page, or the chat with staff)."""
    return tuple(
        Button(flows.texts.get(locale, flows.messages[f"feedback_{answer}"]), node, encode_action(FeedbackAction(answer)))
        for answer in FEEDBACK_ANSWERS
    )


def serves(service: Service, nation: str | None) -> bool:
    """Whether a service works in `nation` (every service does when the nation is not known)."""
    return not nation or not service.regions or nation in service.regions


def service_card(flows: FlowSet, service: Service, locale: str) -> ServiceCard:
    """A service with its texts in `locale`."""
    t = flows.texts.get
    return ServiceCard(
        id=service.id,
        name=t(locale, service.name),
        about=t(locale, service.about),
        phone=service.phone,
        text=service.text,
        url=service.url,
        hours=t(locale, service.hours) if service.hours else None,
    )


def start_state(flows: FlowSet, locale: str | None) -> State:
    """The state of a user who has not started yet, in `locale` if it is offered."""
    offered = flows.settings.languages
    return State(locale=locale if locale in offered else flows.settings.default_language)


class _Step:
    """One step's working context; kept as a class so helpers share flows, locale and events."""

    def __init__(self, flows: FlowSet, state: State, now: datetime, staff: Staff = Staff()) -> None:
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

    # -- helpers ------------------------------------------------------------------------------

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

    def buttons(self, node: Node) -> tuple[Button, ...]:
        buttons = [
            Button(self.t(choice.label), node.id, encode_action(ChoiceAction(i))) for i, choice in enumerate(node.choices)
        ]
        if node.next:
            if node.next_label:
                label = self.t(node.next_label)
            elif node.next == self.settings.menu:
                label = self.message("button_menu")
            else:
                label = self.message("button_next")
            buttons.append(Button(label, node.id, encode_action(NextAction())))
        if not buttons and node.id != self.settings.menu:
            buttons.append(Button(self.message("button_menu"), node.id, encode_action(MenuAction())))
        return tuple(buttons)

    def language_buttons(self) -> tuple[Button, ...]:
        return tuple(
            Button(language_name(code), LANGUAGE_MENU, encode_action(LanguageAction(code))) for code in self.settings.languages
        )

    def card(self, service: Service) -> ServiceCard:
        card = service_card(self.flows, service, self.locale)
        if not self.state.nation and service.regions and set(NATIONS) - set(service.regions):
            # Nation not known: show it, but say where it works.
            where = ", ".join(self.message(NATIONS[r]) for r in service.regions if r in NATIONS)
            card = replace(card, name=f"{card.name} · {where}")
        return card

    def view(self, node: Node) -> _NodeView:
        # Views depend only on (locale, node, nation), so they are built once per flow set.
        nation = self.state.nation or None
        key = (self.locale, node.id, nation)
        view = self.flows.memo.get(key)
        if view is None:
            buttons = self.buttons(node)
            if node.services and not node.urgent:
                buttons += feedback_buttons(self.flows, self.locale, node.id)
            parts = tuple(self.t(part) for part in node.say)
            services = tuple(
                self.card(self.flows.services[sid]) for sid in node.services
                if serves(self.flows.services[sid], nation)
            )
            by_text: dict[str, Button] = {}
            for number, button in reversed(list(enumerate(buttons, start=1))):
                for said in (self._english_label(node, button), normalise(button.label), str(number)):
                    if said:
                        by_text[said] = button
            title = self.message("services_title") if services else ""
            view = self.flows.memo[key] = _NodeView(Reply(parts, buttons, services, title), MappingProxyType(by_text))
        return view

    def render(self, node: Node) -> Reply:
        reply = self.view(node).reply
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
            return Reply(tuple(self.notes), self.language_buttons())
        if self.state.node == NATION_MENU:
            return Reply(tuple(self.notes), self.nation_buttons())
        node = self.current() or self.flows.nodes[self.settings.menu]
        return Reply(tuple(self.notes), self.view(node).reply.buttons)

    # -- moves --------------------------------------------------------------------------------

    def enter(self, node_id: str, *, remember: bool = True) -> Reply:
        """Go to a node, keeping where we were on the bounded back-stack."""
        previous = self.state.node
        back = self.state.back
        if remember and previous and previous != node_id and previous not in PSEUDO_NODES:
            back = (*back, previous)[-self.settings.back_depth :]
        node = self.flows.nodes[node_id]
        if self.should_ask_nation(node):
            # Ask once, before the first page whose services differ by nation; the page follows the answer.
            self.state = replace(self.state, node=NATION_MENU, back=(*back, node_id)[-self.settings.back_depth :])
            return Reply((*self.notes, self.message("nation_prompt")), self.nation_buttons())
        self.state = replace(self.state, node=node_id, back=back)
        self.events.append(("node", node_id))
        return self.render(node)

    def should_ask_nation(self, node: Node) -> bool:
        if self.state.nation is not None or node.urgent or node.flow in self.crisis_flows():
            return False
        services = (self.flows.services[sid] for sid in node.services)
        return any(s.regions and set(NATIONS) - set(s.regions) for s in services)

    def crisis_flows(self) -> set[str]:
        """Flows the crisis trigger leads into: nothing is ever asked before them."""
        return {t.goto.split(".", 1)[0] for t in self.flows.triggers if t.id == CRISIS_TRIGGER and t.goto}

    def nation_buttons(self) -> tuple[Button, ...]:
        buttons = [
            Button(self.message(key), NATION_MENU, encode_action(NationAction(i))) for i, key in enumerate(NATIONS.values())
        ]
        return (*buttons, Button(self.message("nation_skip"), NATION_MENU, encode_action(NationAction(None))))

    def set_nation(self, nation: str) -> Reply:
        """Keep the answer (or the skip) and show the page the question came before."""
        self.state = replace(self.state, nation=nation)
        self.events.append(("nation", nation or "skipped"))
        return self.leave_picker()

    def leave_picker(self) -> Reply:
        back = list(self.state.back)
        target = back.pop() if back else self.settings.menu
        if target not in self.flows.nodes:
            target = self.settings.menu
        self.state = replace(self.state, node=None, back=tuple(back))
        return self.enter(target, remember=False)

    def ask_nation(self) -> Reply:
        """The `nation` action: ask again, then come back here."""
        self.state = replace(self.state, nation=None)
        back = self.state.back
        here = self.state.node
        if here is not None and here in self.flows.nodes:
            back = (*back, here)[-self.settings.back_depth :]
        self.state = replace(self.state, node=NATION_MENU, back=back)
        return Reply((*self.notes, self.message("nation_prompt")), self.nation_buttons())

    def feedback(self, node: str, answer: str) -> Reply:
        """Count a one-tap "Did this help?" answer for the page (or chat); nothing else is kept."""
        if answer not in FEEDBACK_ANSWERS:
            return self.stale()
        subject = "chat" if node == CHAT_FEEDBACK else node
        self.events.append(("feedback", f"{subject}:{answer}"))
        key = "feedback_missing_thanks" if answer == "missing" else "feedback_thanks"
        if self.state.node is None or node == CHAT_FEEDBACK:
            self.notes.append(self.message(key))
            return self.enter(self.settings.menu, remember=self.state.node is not None)
        return self.reshow(self.message(key))

    def restart(self) -> Reply:
        self.state = replace(self.state, back=())
        return self.enter(self.settings.start, remember=False)

    def go_back(self) -> Reply:
        back = list(self.state.back)
        while back:
            target = back.pop()
            if target in self.flows.nodes and target != self.state.node:
                self.state = replace(self.state, back=tuple(back))
                return self.enter(target, remember=False)
        self.state = replace(self.state, back=())
        return self.enter(self.settings.menu, remember=False)

    def show_languages(self) -> Reply:
        if self.state.node != LANGUAGE_MENU:
            back = self.state.back
            if self.state.node in self.flows.nodes:
                back = (*back, self.state.node)[-self.settings.back_depth :]
            self.state = replace(self.state, node=LANGUAGE_MENU, back=back)
        return Reply((*self.notes, self.message("language_prompt")), self.language_buttons())

    def set_language(self, code: str) -> Reply:
        self.locale = code
        self.state = replace(self.state, locale=code)
        self.effects.append(SetLocale(code))
        self.events.append(("language", code))
        self.notes.append(self.message("language_set"))
        return self.leave_picker()

    def handoff(self) -> Reply:
        path = tuple(n for n in (*self.state.back, self.state.node) if n and n in self.flows.nodes)
        self.effects.append(Handoff(path))
        self.events.append(("handoff", "requested"))
        return self.reshow(self.message("handoff_requested"))

    def forget(self) -> Reply:
        self.effects.append(Forget())
        self.events.append(("forget", "done"))
        self.state = State(locale=self.locale, day=self.state.day)
        menu = self.flows.nodes[self.settings.menu]
        return Reply((self.message("forgotten"),), (Button(self.message("button_menu"), menu.id, encode_action(MenuAction())),))

    def clear(self) -> Reply:
        self.effects.append(ClearChat())
        self.events.append(("clear", "done"))
        return self.reshow(self.message("cleared"))

    def do(self, action: str) -> Reply:
        if action == "handoff":
            return self.handoff()
        if action == "forget":
            return self.forget()
        if action == "clear_chat":
            return self.clear()
        if action == "language":
            return self.show_languages()
        if action == "nation":
            return self.ask_nation()
        return self.restart()

    def choose(self, choice: Choice) -> Reply:
        if choice.goto:
            return self.enter(choice.goto)
        return self.do(choice.do or "restart")

    # -- inputs -------------------------------------------------------------------------------

    def run(self, inbound: Inbound) -> Outcome:
        if self.state.node is None:
            self.events.append(("conversation", "started"))
            self.events.append(("language", self.locale))
        elif self.state.node not in PSEUDO_NODES and self.current() is None:
            # The flows changed under this user (a live reload): the nearest menu that still exists.
            self.recover()
            if isinstance(inbound, Pick | Text):
                # Pressed or typed for the vanished menu, so it means nothing here; trigger words still
                # count, and are answered as they are, without a note about menus.
                said = normalise(inbound.text) if isinstance(inbound, Text) else ""
                reply = self.follow_trigger(said)
                if reply is None:
                    self.notes.append(self.message("menu_changed"))
                    reply = self.reshow_notes()
                return self.outcome(reply)
            self.notes.append(self.message("menu_changed"))
        if isinstance(inbound, Command):
            return self.outcome(self.command(inbound))
        if isinstance(inbound, Pick):
            return self.outcome(self.pick(inbound))
        if isinstance(inbound, Media):
            return self.outcome(self.media(inbound.kind))
        return self.outcome(self.text(inbound.text))

    def media(self, kind: str) -> Reply:
        if self.state.node is None:
            self.state = replace(self.state, node=self.settings.start)
            self.events.append(("node", self.settings.start))
        key = "identity_warning" if kind in IDENTIFYING_MEDIA else "media_not_supported"
        return self.reshow(self.message(key))

    def command(self, command: Command) -> Reply:
        name = command.name.lower()
        if name == "start" or self.state.node is None and name not in COMMANDS:
            return self.restart()
        if name == "menu":
            return self.enter(self.settings.menu)
        if name == "back":
            return self.go_back()
        if name == "language":
            return self.show_languages()
        if name == "forget":
            return self.forget()
        if name == "human":
            return self.handoff()
        if name == "clear":
            return self.clear()
        if name == "help":
            return self.reshow(self.message("help"))
        if self.state.node is None:
            return self.restart()
        return self.reshow(self.message("not_understood"))

    def pick(self, pick: Pick) -> Reply:
        action = decode_action(pick.action)
        if pick.node == LANGUAGE_MENU:
            if isinstance(action, LanguageAction) and action.code in self.settings.languages:
                return self.set_language(action.code)
            return self.stale()
        if isinstance(action, FeedbackAction):
            if pick.node == CHAT_FEEDBACK or pick.node in self.flows.nodes:
                return self.feedback(pick.node, action.answer)
            return self.stale()
        if pick.node == NATION_MENU:
            names = list(NATIONS)
            if isinstance(action, NationAction) and action.index is None:
                return self.set_nation(SKIPPED)
            if isinstance(action, NationAction) and action.index is not None and action.index < len(names):
                return self.set_nation(names[action.index])
            return self.stale()
        node = self.flows.nodes.get(pick.node)
        if node is None:
            return self.stale()
        # A button from an older message still means what it said, so it is honoured.
        match action:
            case ChoiceAction(index) if index < len(node.choices):
                return self.choose(node.choices[index])
            case NextAction() if node.next:
                return self.enter(node.next)
            case MenuAction():
                return self.enter(self.settings.menu)
            case BackAction():
                return self.go_back()
        return self.stale()

    def recover(self) -> None:
        """Move a user whose node vanished to its flow's start, else the newest step back, else the menu."""
        back = [node for node in self.state.back if node in self.flows.nodes]
        flow = self.flows.flows.get((self.state.node or "").split(".", 1)[0])
        if flow is not None and flow.start in self.flows.nodes:
            target = flow.start
        else:
            target = back[-1] if back else self.settings.menu
        if back and back[-1] == target:
            back.pop()
        self.state = replace(self.state, node=target, back=tuple(back))

    def stale(self) -> Reply:
        if self.state.node is None:
            self.notes.append(self.message("menu_changed"))
            return self.restart()
        return self.reshow(self.message("menu_changed"))

    def text(self, raw: str) -> Reply:
        said = normalise(raw)
        if looks_identifying(raw):
            # Nothing typed is kept anyway; the note tells them so, and words like "attacked" still count.
            self.events.append(("discretion", "details"))
            self.notes.append(self.message("details_not_needed"))
            return self.follow_trigger(said, raw) or (self.restart() if self.state.node is None else self.reshow_notes())
        if self.state.node == LANGUAGE_MENU:
            for number, button in enumerate(self.language_buttons(), start=1):
                code = self.settings.languages[number - 1]
                if said in (str(number), normalise(button.label), normalise(code)):
                    return self.set_language(code)
        elif self.state.node == NATION_MENU:
            for number, button in enumerate(self.nation_buttons(), start=1):
                if said and said in (str(number), normalise(button.label)):
                    return self.pick(Pick(NATION_MENU, button.action))
            # Anything else counts as a skip: the question is asked once, and never stands in the way.
            self.state = replace(self.state, nation=SKIPPED)
            self.events.append(("nation", "skipped"))
            back = list(self.state.back)
            target = back.pop() if back else self.settings.menu
            self.state = replace(self.state, node=target if target in self.flows.nodes else self.settings.menu,
                                 back=tuple(back))
            target_node = self.current()
            if target_node is not None and said:
                typed = self.view(target_node).by_text.get(said)
                if typed is not None:
                    return self.pick(Pick(typed.node, typed.action))
        else:
            node = self.current()
            if node is not None and said:
                button = self.view(node).by_text.get(said)
                if button is not None:
                    return self.pick(Pick(button.node, button.action))
        reply = self.follow_trigger(said, raw)
        if reply is not None:
            return reply
        if self.state.node is None:
            return self.restart()
        return self.miss()

    def miss(self) -> Reply:
        """Not understood: a gentle retry, and after two in a row the main menu and a person."""
        misses = self.state.misses + 1
        if misses >= MISSES_BEFORE_MENU:
            # One message, as a miss always is: the menu's buttons (Talk to a person among them) under the note.
            self.state = replace(self.state, misses=0)
            menu = self.enter(self.settings.menu)
            return Reply((*self.notes, self.message("not_understood_again")), menu.buttons)
        self.missed = True
        self.state = replace(self.state, misses=misses)
        return self.reshow(self.message("not_understood"))

    def follow_trigger(self, said: str, raw: str = "") -> Reply | None:
        """The reply of the highest-priority trigger in the text, if any."""
        marked = fold_case(raw) if raw else said
        trigger = self.flows.trigger_index.first_match(self.locale, said, marked) if said else None
        if trigger is None:
            return None
        self.events.append(("trigger", trigger.id))
        if self.state.node is None and trigger.id in FIRST_CONTACT_WELCOME:
            # A first "hi" deserves the welcome, which says what the bot is and what it keeps.
            return self.restart()
        if trigger.goto:
            return self.enter(trigger.goto)
        return self.do(trigger.do or "restart")

    def _english_label(self, node: Node, button: Button) -> str:
        # People often type the English words even when chatting in another language.
        action = decode_action(button.action)
        if isinstance(action, ChoiceAction):
            return normalise(node.choices[action.index].label)
        return ""
