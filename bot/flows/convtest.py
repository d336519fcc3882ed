"""Conversation tests staff write in YAML: a user's messages and what the bot must answer, replayed.

A script (`tests/conversations/*.yaml`):

    name: Typing "condom broke" goes to the urgent PEP page
    lang: en
    steps:
      - user: /start
        bot: contains "What can I help with?"
      - user: condom broke
        bot: contains "72 hours"
        choices: include "Talk to a person"
      - press: Talk to a person
        handoff: requested

Each script runs against the real engine and store (SQLite in memory), one fresh user per script.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.conversation import Conversations
from bot.engine import Command, Handoff, Inbound, Outcome, Pick, Text
from bot.errors import BotError
from bot.flows.model import FlowSet
from bot.flows.yamlsource import LineDict, LineList, YamlSyntaxError, read_yaml
from bot.privacy.keys import Keyring
from bot.store import open_store

SCRIPT_KEYS = ("name", "lang", "steps")
ACTION_KEYS = ("user", "press")
CHECK_KEYS = ("bot", "not", "choices", "no_choices", "handoff", "node", "lang")
STEP_KEYS = ACTION_KEYS + CHECK_KEYS
REPEATABLE_KEYS = ("bot", "not", "choices", "no_choices")  # each line adds what must (not) be there
# A fixed Wednesday noon: scripts don't depend on the day they run.
SCRIPT_TIME = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'')


class ScriptError(BotError):
    """A script that can't be read; the message names file and line."""


@dataclass(frozen=True, slots=True)
class Step:
    """One user action and what the bot must do in answer."""

    line: int
    user: str | None = None
    press: str | None = None
    lang: str | None = None
    says: tuple[str, ...] = ()
    never_says: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    no_choices: tuple[str, ...] = ()
    handoff: bool | None = None
    node: str | None = None


@dataclass(frozen=True, slots=True)
class Script:
    """A named conversation in one file."""

    path: Path
    name: str
    lang: str | None
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Failure:
    """Where a script went wrong and what the bot did instead."""

    path: Path
    line: int
    step: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: step {self.step}: {self.message}"


def _texts(value: Any, verb: str) -> tuple[str, ...]:
    """`contains "a", "b"` / `include "a"` / a plain string / a list -> the expected fragments."""
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    text = str(value).strip()
    if text.startswith(verb + " "):
        text = text[len(verb) + 1 :].strip()
    quoted = [a if a else b for a, b in _QUOTED.findall(text)]
    return tuple(q.replace('\\"', '"') for q in quoted) if quoted else (text,)


def _every(raw: LineDict, key: str, verb: str) -> tuple[str, ...]:
    """The fragments of every `key:` line of a step: two `bot:` lines in one step both count."""
    return tuple(fragment for _, value in raw.all_of(key) for fragment in _texts(value, verb))


def load_script(path: Path) -> Script:
    """Read and check one script; raises ScriptError naming the file and line."""
    try:
        doc = read_yaml(path)
    except YamlSyntaxError as exc:
        raise ScriptError(f"{path}:{exc.line}: invalid YAML at column {exc.column}: {exc.reason}") from None
    except OSError as exc:
        raise ScriptError(f"{path}: cannot read: {exc.strerror}") from None
    if not isinstance(doc, LineDict) or not isinstance(doc.get("steps"), LineList) or not doc["steps"]:
        raise ScriptError(f"{path}:1: a script needs `steps:`, a list of `- user: …` entries")
    for key in doc:
        if key not in SCRIPT_KEYS:
            raise ScriptError(f"{path}:{doc.line_of(key)}: unknown key `{key}` — use {', '.join(SCRIPT_KEYS)}")
    for key, dup_line in doc.duplicates:
        raise ScriptError(f"{path}:{dup_line}: `{key}:` appears twice — keep one")
    steps = [_step(path, index, raw, doc["steps"].line_of(index)) for index, raw in enumerate(doc["steps"])]
    lang = doc.get("lang")
    return Script(path, str(doc.get("name") or path.stem), str(lang) if lang else None, tuple(steps))


def _step(path: Path, index: int, raw: object, line: int) -> Step:
    """One checked step of a script; raises ScriptError naming the file and line."""
    if not isinstance(raw, LineDict):
        raise ScriptError(f"{path}:{line}: step {index + 1} should be like `- user: hello`")
    for key in raw:
        if key not in STEP_KEYS:
            raise ScriptError(f"{path}:{raw.line_of(key)}: unknown key `{key}` — use {', '.join(STEP_KEYS)}")
    for key, dup_line in raw.duplicates:
        if key not in REPEATABLE_KEYS:
            raise ScriptError(
                f"{path}:{dup_line}: step {index + 1} has two `{key}:` lines — keep one, or start a new "
                f"step with `- {key}:`"
            )
    actions = [k for k in ACTION_KEYS if k in raw]
    if len(actions) != 1:
        raise ScriptError(f"{path}:{line}: step {index + 1} needs exactly one of `user:` (type) or `press:` (a button)")
    handoff = raw.get("handoff")
    if handoff is not None and str(handoff) not in ("requested", "none"):
        raise ScriptError(f"{path}:{raw.line_of('handoff')}: `handoff:` is `requested` or `none`")
    return Step(
        line=line,
        user=str(raw["user"]) if "user" in raw else None,
        press=str(raw["press"]) if "press" in raw else None,
        lang=str(raw["lang"]) if "lang" in raw else None,
        says=_every(raw, "bot", "contains"),
        never_says=_every(raw, "not", "contains"),
        choices=_every(raw, "choices", "include"),
        no_choices=_every(raw, "no_choices", "include"),
        handoff=None if handoff is None else str(handoff) == "requested",
        node=str(raw["node"]) if "node" in raw else None,
    )


def load_scripts(directory: Path) -> list[Script]:
    """Every `*.yaml` (or `*.yml`) script in a folder, by name."""
    if not directory.is_dir():
        raise ScriptError(f"{directory}: no such folder of conversation scripts")
    return [load_script(path) for path in sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))]


def _inbound(typed: str) -> Inbound:
    # Typed text reaches the engine as a messenger would deliver it.
    text = typed.strip()
    if text.startswith("/") and len(text) > 1:
        name, _, arg = text[1:].partition(" ")
        return Command(name.lower(), arg.strip())
    return Text(text)


def _said(outcome: Outcome) -> str:
    reply = outcome.reply
    cards = [f"{c.name}\n{c.about}\n{c.phone or ''}\n{c.hours or ''}" for c in reply.services]
    return "\n".join([*reply.parts, reply.services_title, *cards])


def _check(step: Step, outcome: Outcome) -> str | None:
    said = _said(outcome)
    labels = [button.label for button in outcome.reply.buttons]
    for fragment in step.says:
        if fragment.casefold() not in said.casefold():
            return f"expected the bot to say something containing {fragment!r}; it said: {said.strip()[:300]!r}"
    for fragment in step.never_says:
        if fragment.casefold() in said.casefold():
            return f"expected the bot not to say {fragment!r}; it said: {said.strip()[:300]!r}"
    for label in step.choices:
        if label not in labels:
            return f"expected a choice {label!r}; the choices were {labels}"
    for label in step.no_choices:
        if label in labels:
            return f"expected no choice {label!r}; the choices were {labels}"
    requested = any(isinstance(effect, Handoff) for effect in outcome.effects)
    if step.handoff is not None and requested != step.handoff:
        return (
            "expected a person to be asked for; none was" if step.handoff else "expected no handoff; one was asked for"
        )
    if step.node is not None and outcome.state.node != step.node:
        return f"expected to be at {step.node}; the bot is at {outcome.state.node}"
    return None


async def run_script(script: Script, flows: FlowSet) -> list[Failure]:
    """Replay a script against the engine and an in-memory store; the first failed step ends it."""
    store = await open_store(":memory:")
    conversations = Conversations(flows, store, Keyring(b"conversation-test-secret-32bytes"), clock=lambda: SCRIPT_TIME)
    lang = script.lang
    previous: Outcome | None = None
    try:
        for number, step in enumerate(script.steps, start=1):
            lang = step.lang or lang
            if step.press is not None:
                buttons = previous.reply.buttons if previous is not None else ()
                button = next((b for b in buttons if b.label == step.press), None)
                if button is None:
                    labels = [b.label for b in buttons]
                    return [
                        Failure(
                            script.path,
                            step.line,
                            number,
                            f"there is no button {step.press!r}; the buttons were {labels}",
                        )
                    ]
                inbound: Inbound = Pick(button.node, button.action)
            else:
                inbound = _inbound(step.user or "")
            previous = await conversations.handle("script", 1, inbound, lang)
            problem = _check(step, previous)
            if problem is not None:
                return [Failure(script.path, step.line, number, problem)]
        return []
    finally:
        await store.close()


async def run_scripts(scripts: Sequence[Script], flows: FlowSet) -> list[Failure]:
    """Every failure of every script, in order."""
    failures: list[Failure] = []
    for script in scripts:
        failures += await run_script(script, flows)
    return failures
