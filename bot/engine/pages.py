"""How a page looks to one user: its text, buttons and service cards in their language, for their nation.

A page's view depends only on (flow set, locale, node, nation), so it is built once per flow set and
kept in the flow set's derived values; the step then adds what changes per user (notes, the line about staff).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from bot.engine.types import Button, Reply, ServiceCard
from bot.flows import DerivedKey, FlowSet, Node, Service
from bot.flows.textmatch import normalise
from bot.i18n.catalog import language_name
from bot.vocabulary import (
    CHAT_FEEDBACK,
    FEEDBACK_ANSWERS,
    LANGUAGE_MENU,
    NATION_MENU,
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
NATIONS: Mapping[str, str] = MappingProxyType(
    {
        "England": "nation_england",
        "Scotland": "nation_scotland",
        "Wales": "nation_wales",
        "Northern Ireland": "nation_northern_ireland",
    }
)


@dataclass(frozen=True, slots=True)
class PageView:
    """A node as shown in one locale, and what typed text selects each of its buttons."""

    reply: Reply
    by_text: Mapping[str, Button]


# (locale, node id, nation) -> the page's view, built once per flow set.
PAGE_VIEWS: DerivedKey[dict[tuple[str, str, str | None], PageView]] = DerivedKey("engine page views")


def feedback_buttons(flows: FlowSet, locale: str, node: str = CHAT_FEEDBACK) -> tuple[Button, ...]:
    """The one-tap "Did this help?" answers for `node` (a service page, or the chat with staff)."""
    label = flows.texts.get
    return tuple(
        Button(label(locale, flows.messages[f"feedback_{answer}"]), node, encode_action(FeedbackAction(answer)))
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


@dataclass(frozen=True, slots=True)
class Pages:
    """Pages as one user sees them: in `locale`, for `nation` (as the state keeps it: None, skipped or a name)."""

    flows: FlowSet
    locale: str
    nation: str | None

    def t(self, msgid: str) -> str:
        """A flow text in the user's language."""
        return self.flows.texts.get(self.locale, msgid)

    def message(self, key: str) -> str:
        """One of the bot's own messages (flows/messages.yaml) in the user's language."""
        return self.t(self.flows.messages[key])

    def buttons(self, node: Node) -> tuple[Button, ...]:
        """The node's choices, then its `next`, or a way to the menu when it has neither."""
        buttons = [
            Button(self.t(choice.label), node.id, encode_action(ChoiceAction(i)))
            for i, choice in enumerate(node.choices)
        ]
        if node.next:
            if node.next_label:
                label = self.t(node.next_label)
            elif node.next == self.flows.settings.menu:
                label = self.message("button_menu")
            else:
                label = self.message("button_next")
            buttons.append(Button(label, node.id, encode_action(NextAction())))
        if not buttons and node.id != self.flows.settings.menu:
            buttons.append(Button(self.message("button_menu"), node.id, encode_action(MenuAction())))
        return tuple(buttons)

    def language_buttons(self) -> tuple[Button, ...]:
        """One button per offered language, each named in its own language."""
        return tuple(
            Button(language_name(code), LANGUAGE_MENU, encode_action(LanguageAction(code)))
            for code in self.flows.settings.languages
        )

    def card(self, service: Service) -> ServiceCard:
        """A service card; while the nation is not known, its name says where the service works."""
        card = service_card(self.flows, service, self.locale)
        if not self.nation and service.regions and set(NATIONS) - set(service.regions):
            # Nation not known: show it, but say where it works.
            where = ", ".join(self.message(NATIONS[r]) for r in service.regions if r in NATIONS)
            card = replace(card, name=f"{card.name} · {where}")
        return card

    def view(self, node: Node) -> PageView:
        """The node as this user sees it; built once per flow set for each (locale, node, nation)."""
        nation = self.nation or None
        key = (self.locale, node.id, nation)
        views = self.flows.derived.get(PAGE_VIEWS, dict)
        view = views.get(key)
        if view is None:
            buttons = self.buttons(node)
            if node.services and not node.urgent:
                buttons += feedback_buttons(self.flows, self.locale, node.id)
            parts = tuple(self.t(part) for part in node.say)
            services = tuple(
                self.card(self.flows.services[sid]) for sid in node.services if serves(self.flows.services[sid], nation)
            )
            by_text: dict[str, Button] = {}
            for number, button in reversed(list(enumerate(buttons, start=1))):
                for said in (self._english_label(node, button), normalise(button.label), str(number)):
                    if said:
                        by_text[said] = button
            title = self.message("services_title") if services else ""
            view = views[key] = PageView(Reply(parts, buttons, services, title), MappingProxyType(by_text))
        return view

    def nation_buttons(self) -> tuple[Button, ...]:
        """The four nations, then Skip."""
        buttons = [
            Button(self.message(key), NATION_MENU, encode_action(NationAction(i)))
            for i, key in enumerate(NATIONS.values())
        ]
        return (*buttons, Button(self.message("nation_skip"), NATION_MENU, encode_action(NationAction(None))))

    def _english_label(self, node: Node, button: Button) -> str:
        # People often type the English words even when chatting in another language.
        action = decode_action(button.action)
        if isinstance(action, ChoiceAction):
            return normalise(node.choices[action.index].label)
        return ""
