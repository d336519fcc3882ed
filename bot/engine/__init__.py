"""The flow engine: pure, no I/O. `step(flows, state, inbound, now)` gives the Outcome of one input."""

from bot.engine.pages import NATIONS, feedback_buttons, serves, service_card
from bot.engine.step import start_state, step
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
    ServiceCard,
    SetLocale,
    Staff,
    State,
    Text,
)

__all__ = [
    "IDENTIFYING_MEDIA",
    "NATIONS",
    "Button",
    "ClearChat",
    "Command",
    "Effect",
    "Forget",
    "Handoff",
    "Inbound",
    "Media",
    "Outcome",
    "Pick",
    "Reply",
    "ServiceCard",
    "SetLocale",
    "Staff",
    "State",
    "Text",
    "feedback_buttons",
    "serves",
    "service_card",
    "start_state",
    "step",
]
