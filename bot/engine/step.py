"""The flow engine: `step(flows, state, inbound, now) -> Outcome`. Pure: no I/O, no clock, no Telegram.

Every step yields exactly one reply (one or more message parts, buttons, service cards) plus the
effects a transport must carry out (handoff, forget, clear chat, locale change) and anonymous
events for the daily counters.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.engine.pages import NATIONS, Pages
from bot.engine.types import (
    IDENTIFYING_MEDIA,
    Button,
    ClearChat,
    Command,
    Effect,
    Forget,
    Handoff,
    Inbound,
    Media,
    Outcome,
    Pick,
    Reply,
    SetLocale,
    Staff,
    State,
    Text,
)
from bot.flows import Choice, FlowSet, Node
from bot.flows.textmatch import fold_case, normalise
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
    Action,
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

SKIPPED = ""  # the nation question was answered with Skip: asked once, never again
MISSES_BEFORE_MENU = 2
STAFF_SLOT = "{staff}"  # in a node's text: replaced by the line about whether a person can answer now
STAFF_UNKNOWN = Staff()  # no staff hours set: nothing is promised about a person


# -- the step -------------------------------------------------------------------------------------


def step(flows: FlowSet, state: State, inbound: Inbound, now: datetime, staff: Staff = STAFF_UNKNOWN) -> Outcome:
    """Advance one user's conversation by one input; `staff` says whether a person can answer now."""
    return _Step(flows, state, now, staff).run(inbound)


def start_state(flows: FlowSet, locale: str | None) -> State:
    """The state of a user who has not started yet, in `locale` if it is offered."""
    offered = flows.settings.languages
    return State(locale=locale if locale in offered else flows.settings.default_language)


class _Step:
    """One step's working context; kept as a class so helpers share flows, locale and events."""

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
            return Reply((*self.notes, self.message("nation_prompt")), self.pages.nation_buttons())
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
        return Reply((*self.notes, self.message("nation_prompt")), self.pages.nation_buttons())

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
            back, here = self.state.back, self.state.node
            if here is not None and here in self.flows.nodes:
                back = (*back, here)[-self.settings.back_depth :]
            self.state = replace(self.state, node=LANGUAGE_MENU, back=back)
        return Reply((*self.notes, self.message("language_prompt")), self.pages.language_buttons())

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
        to_menu = Button(self.message("button_menu"), menu.id, encode_action(MenuAction()))
        return Reply((self.message("forgotten"),), (to_menu,))

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
        if name == "start" or (self.state.node is None and name not in COMMANDS):
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
        if pick.node in (LANGUAGE_MENU, NATION_MENU) or isinstance(action, FeedbackAction):
            return self.pick_question(pick.node, action)
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

    def pick_question(self, node_id: str, action: Action | None) -> Reply:
        """A button of a question the bot asks outside the flows: language, nation, "Did this help?"."""
        if node_id == LANGUAGE_MENU:
            if isinstance(action, LanguageAction) and action.code in self.settings.languages:
                return self.set_language(action.code)
        elif isinstance(action, FeedbackAction):
            if node_id == CHAT_FEEDBACK or node_id in self.flows.nodes:
                return self.feedback(node_id, action.answer)
        elif isinstance(action, NationAction):
            names = list(NATIONS)
            if action.index is None:
                return self.set_nation(SKIPPED)
            if action.index < len(names):
                return self.set_nation(names[action.index])
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
            followed = self.follow_trigger(said, raw)
            return followed or (self.restart() if self.state.node is None else self.reshow_notes())
        answered = self.typed_answer(said)
        if answered is not None:
            return answered
        reply = self.follow_trigger(said, raw)
        if reply is not None:
            return reply
        if self.state.node is None:
            return self.restart()
        return self.miss()

    def typed_answer(self, said: str) -> Reply | None:
        """Typed words that answer the question on screen (a button's label or number), if they do."""
        if self.state.node == LANGUAGE_MENU:
            for number, button in enumerate(self.pages.language_buttons(), start=1):
                code = self.settings.languages[number - 1]
                if said in (str(number), normalise(button.label), normalise(code)):
                    return self.set_language(code)
            return None
        if self.state.node == NATION_MENU:
            for number, button in enumerate(self.pages.nation_buttons(), start=1):
                if said and said in (str(number), normalise(button.label)):
                    return self.pick(Pick(NATION_MENU, button.action))
            self.skip_nation()
        node = self.current()
        typed = self.pages.view(node).by_text.get(said) if node is not None and said else None
        return self.pick(Pick(typed.node, typed.action)) if typed is not None else None

    def skip_nation(self) -> None:
        """Anything but an answer skips the nation question: asked once, it never stands in the way."""
        self.state = replace(self.state, nation=SKIPPED)
        self.events.append(("nation", "skipped"))
        back = list(self.state.back)
        target = back.pop() if back else self.settings.menu
        self.state = replace(
            self.state, node=target if target in self.flows.nodes else self.settings.menu, back=tuple(back)
        )

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
