"""Warnings for a flow set that loads but could serve people better, each as `file:line: node: what — fix`.

The loader (bot.flows.loader) already warns about unreachable nodes and services unchecked for a year;
this adds the rest: traps with no way back to the menu, over-long messages, too many buttons,
services never checked, and trigger keywords another trigger always answers first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.flows.model import FlowSet, Node
from bot.flows.problems import Problem
from bot.flows.textmatch import normalise

MAX_MESSAGE_CHARS = 600  # about one phone screen; longer text is better split into steps
MAX_BUTTONS = 8
# Actions that always end with a way back to the menu (the forget and end-chat replies carry one).
LEAVING_ACTIONS = frozenset({"handoff", "forget", "restart"})


@dataclass(frozen=True, slots=True)
class _Lines:
    """Where things are in the YAML files, from the flow set's source map, to point warnings at a line."""

    flows: FlowSet
    directory: Path

    def node(self, node_id: str, key: str | None = None, index: int | None = None) -> tuple[str, int]:
        """File and line of a node, of one of its keys, or of one item of a list under that key."""
        path = ("node", node_id, *(() if key is None else (key,)), *(() if index is None else (index,)))
        return self.at(path, str(self.directory))

    def service(self, service_id: str) -> tuple[str, int]:
        """File and line of a service's id in services.yaml."""
        return self.at(("service", service_id), str(self.directory / "services.yaml"))

    def keyword(self, trigger_id: str, language: str, index: int) -> tuple[str, int]:
        """File and line of one keyword of a trigger."""
        return self.at(("trigger", trigger_id, "keywords", language, index), str(self.directory / "triggers.yaml"))

    def at(self, path: tuple[str | int, ...], fallback: str) -> tuple[str, int]:
        """File and line of the item at `path`; `fallback` and line 0 for an item the source map lacks."""
        found = self.flows.sources.get(*path)
        return (found.file, found.line) if found is not None else (fallback, 0)


def review_status(flows: FlowSet) -> list[str]:
    """One line per offered language: who reviewed its translations and when, or that nobody has yet.

    Nothing when settings.yaml keeps no `reviewed:` record at all (a flow set that predates it).
    """
    if not flows.settings.reviewed:
        return []
    lines = []
    for code in flows.settings.languages:
        if code == flows.settings.default_language:
            continue
        review = flows.settings.reviewed.get(code)
        if review is not None and review.done:
            lines.append(
                f"{code}: reviewed by {review.by} on {review.on}" + (f" ({review.note})" if review.note else "")
            )
        else:
            note = review.note if review is not None and review.note else "no review recorded"
            lines.append(f"{code}: NOT reviewed by a person yet ({note})")
    return lines


def card_chars(flows: FlowSet, node: Node, locale: str) -> int:
    """Characters of a node's service cards as one message, every card shown (the nation unknown, labelled)."""
    from bot.engine import NATIONS, service_card

    title = flows.texts.get(locale, flows.messages.get("services_title", "")) if node.services else ""
    total = len(title) + 2 if title else 0
    for sid in node.services:
        service = flows.services[sid]
        card = service_card(flows, service, locale)
        fields = [card.name, card.about, card.phone, card.text, card.hours]
        total += sum(len(f) + 2 for f in fields if f) + 2  # a line (and an icon) each, a blank line between cards
        if service.regions and set(NATIONS) - set(service.regions):
            total += 3 + sum(
                len(flows.texts.get(locale, flows.messages[NATIONS[r]])) + 2 for r in service.regions if r in NATIONS
            )
    return total


def lint(flows: FlowSet, directory: Path) -> list[Problem]:
    """Every warning for a flow set that has loaded, in file and line order."""
    lines = _Lines(flows, Path(directory))
    problems = [
        *dead_ends(flows, lines),
        *long_messages(flows, lines),
        *crowded_choices(flows, lines),
        *unchecked_services(flows, lines),
        *shadowed_keywords(flows, lines),
    ]
    return sorted(problems, key=lambda p: (p.file, p.line))


def _warning(at: tuple[str, int], where: str, what: str, fix: str) -> Problem:
    return Problem(at[0], at[1], where, what, fix, "warning")


def _moves(node: Node) -> Iterator[str | None]:
    """Where a node's buttons lead; None stands for a way out to the menu."""
    if not node.choices and not node.next:
        yield None  # the engine adds a Main menu button to a node without buttons
    for choice in node.choices:
        if choice.goto:
            yield choice.goto
        elif choice.do in LEAVING_ACTIONS:
            yield None
    if node.next:
        yield node.next


def dead_ends(flows: FlowSet, lines: _Lines) -> Iterator[Problem]:
    """Nodes from which no sequence of buttons leads back to the menu (only typed commands would)."""
    home = {flows.settings.menu, flows.settings.start}
    escapes: set[str] = set()
    changed = True
    while changed:  # grow the set of nodes with a way home until it stops growing
        changed = False
        for node in flows.nodes.values():
            if node.id in escapes:
                continue
            if any(move is None or move in home or move in escapes for move in _moves(node)):
                escapes.add(node.id)
                changed = True
    for node in flows.nodes.values():
        if node.id not in escapes and node.id not in home:
            yield _warning(
                lines.node(node.id),
                node.id,
                "dead end: no button here, or after it, leads back to the main menu",
                f"add a choice `goto: {flows.settings.menu}`, or `next: {flows.settings.menu}`",
            )


def long_messages(flows: FlowSet, lines: _Lines) -> Iterator[Problem]:
    """`say` messages longer than a phone screen; on an urgent page its service cards count as a message too."""
    for node in flows.nodes.values():
        if node.urgent and node.services:
            # The cards go out as one more message; on an urgent page nobody should have to scroll it.
            size = card_chars(flows, node, flows.settings.default_language)
            if size > MAX_MESSAGE_CHARS:
                yield _warning(
                    lines.node(node.id, "services"),
                    node.id,
                    f"the service cards of this urgent page are {size} characters, over {MAX_MESSAGE_CHARS}",
                    "show fewer services here, or shorten their `for`",
                )
        for i, text in enumerate(node.say):
            if len(text) > MAX_MESSAGE_CHARS:
                yield _warning(
                    lines.node(node.id, "say", i),
                    node.id,
                    f"message is {len(text)} characters, over {MAX_MESSAGE_CHARS}",
                    "shorten it, or split it into a list of messages or a `next:` step",
                )


def crowded_choices(flows: FlowSet, lines: _Lines) -> Iterator[Problem]:
    """Nodes offering more buttons than fit on a phone screen (a `next` is a button too)."""
    for node in flows.nodes.values():
        count = len(node.choices) + (1 if node.next else 0)
        if count > MAX_BUTTONS:
            yield _warning(
                lines.node(node.id, "choices"),
                node.id,
                f"{count} buttons, over {MAX_BUTTONS}",
                "group some choices under a new sub-menu node",
            )


def unchecked_services(flows: FlowSet, lines: _Lines) -> Iterator[Problem]:
    """Services with no `checked` date (the loader warns about dates over a year old)."""
    for service in flows.services.values():
        if service.checked is None:
            yield _warning(
                lines.service(service.id),
                f"service {service.id}",
                "no `checked` date, so nobody knows when its details were last confirmed",
                "check it against `source` and add `checked: YYYY-MM-DD`",
            )


def shadowed_keywords(flows: FlowSet, lines: _Lines) -> Iterator[Problem]:
    """Keywords another trigger always answers first: the same words, or words inside them."""
    default = flows.settings.default_language
    languages = dict.fromkeys([*flows.settings.languages, *(lang for t in flows.triggers for lang in t.keywords)])
    seen: set[tuple[str, str, str]] = set()
    for lang in languages:
        for trigger in flows.triggers:
            own = [(lang, i, word) for i, word in enumerate(trigger.keywords.get(lang, ()))]
            if lang != default:
                # Keywords in the default language work in every language, so they compete here too.
                own += [(default, i, word) for i, word in enumerate(trigger.keywords.get(default, ()))]
            for word_lang, i, word in own:
                said = normalise(word)
                first = flows.trigger_index.first_match(lang, said)
                if first is None or first.id == trigger.id or (trigger.id, said, first.id) in seen:
                    continue
                seen.add((trigger.id, said, first.id))
                theirs = {normalise(w) for words in first.keywords.values() for w in words}
                what = (
                    f"keyword `{word}` is also a keyword of trigger `{first.id}`"
                    if said in theirs
                    else f"keyword `{word}` contains a keyword of trigger `{first.id}`"
                )
                at = lines.keyword(trigger.id, word_lang, i)
                yield _warning(
                    at,
                    f"trigger {trigger.id}",
                    f"{what}, which is tried first, so it never reaches `{trigger.id}`",
                    f"remove it from one of them, or give `{trigger.id}` a higher priority",
                )
