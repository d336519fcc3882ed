"""The bot's own words: a message from flows/messages.yaml, by key, in a language, filled in.

The keys and their English live in flows/messages.yaml (the checker lists the keys the code asks
for); translations in locales/. Everything that words a message for users or staff goes through here.
"""

from __future__ import annotations

from bot.flows.model import FlowSet


def fill(template: str, **values: object) -> str:
    """`str.format` that never raises on a translator's typo: a broken template is shown unfilled."""
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return template


def message_text(flows: FlowSet, key: str, locale: str, /, **values: object) -> str:
    """A message from flows/messages.yaml in `locale`, filled in."""
    return fill(flows.texts.get(locale, flows.messages[key]), **values)


def staff_text(flows: FlowSet, key: str, /, **values: object) -> str:
    """A staff message from flows/messages.yaml, in the default language (staff read it), filled in."""
    return message_text(flows, key, flows.settings.default_language, **values)
