"""Flow definitions: the model with its source lines, loading, checking, graph, lint and conversation tests."""

from bot.flows.derived import Derived, DerivedKey
from bot.flows.loader import Report, check, load
from bot.flows.messages import MESSAGE_KEYS
from bot.flows.model import (
    Choice,
    Flow,
    FlowSet,
    Node,
    Service,
    Trigger,
)
from bot.flows.problems import Findings, FlowError, Problem, Severity, suggest
from bot.flows.settings import Review, Settings
from bot.flows.sources import SPECIAL_FILES, Source, SourceMap
from bot.vocabulary import CRISIS_TRIGGER
from bot.vocabulary import FLOW_ACTIONS as ACTIONS

__all__ = [
    "ACTIONS",
    "CRISIS_TRIGGER",
    "MESSAGE_KEYS",
    "SPECIAL_FILES",
    "Choice",
    "Derived",
    "DerivedKey",
    "Findings",
    "Flow",
    "FlowError",
    "FlowSet",
    "Node",
    "Problem",
    "Report",
    "Review",
    "Service",
    "Settings",
    "Severity",
    "Source",
    "SourceMap",
    "Trigger",
    "check",
    "load",
    "suggest",
]
