"""The flow model: frozen dataclasses for flows, steps (nodes), choices, triggers and services.

A `FlowSet` is what the loader hands out once every file has passed the checks; nothing changes it
afterwards. Each item's place in the YAML files is in `FlowSet.sources`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from types import MappingProxyType

from bot.flows.derived import Derived
from bot.flows.settings import Settings
from bot.flows.sources import SourceMap
from bot.flows.textmatch import KeywordIndex
from bot.i18n.catalog import Texts


@dataclass(frozen=True, slots=True)
class Choice:
    """A button on a node: it either goes to a node (`goto`, absolute id) or runs an action (`do`)."""

    label: str
    goto: str | None = None
    do: str | None = None


@dataclass(frozen=True, slots=True)
class Node:
    """One step of a conversation, shown as one page; `id` is absolute, `flow.node`."""

    id: str
    say: tuple[str, ...]
    choices: tuple[Choice, ...] = ()
    services: tuple[str, ...] = ()
    next: str | None = None
    next_label: str | None = None
    end: bool = False
    on_request: bool = False
    # An urgent page (crisis, PEP) is shown at once: no question before it, no "Did this help?" under it.
    urgent: bool = False

    @property
    def flow(self) -> str:
        """The flow this node belongs to."""
        return self.id.split(".", 1)[0]


@dataclass(frozen=True, slots=True)
class Flow:
    """One flow file: a named group of nodes (steps) with a start node."""

    name: str
    start: str
    on_request: bool = False


@dataclass(frozen=True, slots=True)
class Trigger:
    """A global keyword trigger, tried before the current node, highest priority first."""

    id: str
    priority: int
    keywords: Mapping[str, tuple[str, ...]]
    goto: str | None = None
    do: str | None = None
    # Per language, phrases that hold a keyword but mean something else: the keyword doesn't count in them.
    not_in: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class Service:
    """A real service in `flows/services.yaml`; flows name it by id."""

    id: str
    name: str
    about: str
    phone: str | None = None
    text: str | None = None
    url: str | None = None
    hours: str | None = None
    regions: tuple[str, ...] = ()
    source: str | None = None
    checked: date | None = None


@dataclass(frozen=True, slots=True)
class FlowSet:
    """A validated, immutable set of flows with everything they refer to."""

    flows: Mapping[str, Flow]
    nodes: Mapping[str, Node]
    triggers: tuple[Trigger, ...]  # highest priority first
    services: Mapping[str, Service]
    messages: Mapping[str, str]
    settings: Settings
    texts: Texts = field(default_factory=Texts)
    # Saved replies (flows/replies.yaml): name -> English text, sent by staff with /reply NAME.
    replies: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Compiled once at load so that matching typed text costs one regex search per trigger.
    trigger_index: KeywordIndex[Trigger] = field(default_factory=lambda: KeywordIndex(MappingProxyType({})))
    # Where each node, choice, text, trigger and service is written, for problems that name `file:line`.
    sources: SourceMap = field(default_factory=SourceMap, repr=False, compare=False)
    # What the engine and the transports derive from this set on first use; a new FlowSet starts empty.
    derived: Derived = field(default_factory=Derived, init=False, repr=False, compare=False)

    def with_texts(self, texts: Texts) -> FlowSet:
        """The same flows with translations attached."""
        return replace(self, texts=texts)
