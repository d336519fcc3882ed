"""Flow definitions: load `flows/*.yaml` into frozen dataclasses and validate them whole.

Every problem names `file:line`, the node, what is wrong and how to fix it, and all problems are
reported at once. A flow set either loads whole or not at all (`load` raises `FlowError`).
"""

from __future__ import annotations

import difflib
import re
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, time, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from babel import Locale, UnknownLocaleError

from bot.errors import BotError
from bot.i18n.catalog import Texts
from bot.flows.textmatch import KeywordIndex, normalise
from bot.flows.yamlsource import LineDict, LineList, YamlSyntaxError, read_yaml

ACTIONS = frozenset({"handoff", "forget", "clear_chat", "language", "nation", "restart"})
CRISIS_TRIGGER = "crisis"
# Words that say nothing about leaving sex work: an exit keyword that is one of them (or a single
# everyday word) would send people to exit support who never asked for it.
COMMON_WORDS = frozenset({
    "hi", "hello", "hey", "help", "thanks", "thank you", "menu", "ok", "okay", "yes", "no", "stop", "leave",
    "quit", "exit", "out", "work", "job", "change", "tired", "hola", "gracias", "ayuda", "oi", "ola",
    "obrigada", "obrigado", "ajuda", "salut", "buna", "ajutor", "multumesc", "czesc", "pomoc", "dziekuje",
    "szia", "segitseg", "koszonom", "здравей", "помощ", "благодаря", "สวัสดี", "ขอบคุณ", "ช่วย",
    "你好", "谢谢", "帮助", "转行", "上岸", "不干了", "换工作",
})

# The bot's own words. The English text lives in flows/messages.yaml; this is only the list of
# names the code asks for, with a hint shown to staff when one is missing.
MESSAGE_KEYS: Mapping[str, str] = MappingProxyType(
    {
        "not_understood": "said when typed text matches no choice or trigger",
        "not_understood_again": "said, with the main menu, after two messages in a row were not understood",
        "nation_prompt": "asks, once and skippably, which UK nation the user is in (neutral first line)",
        "nation_england": "button: England",
        "nation_scotland": "button: Scotland",
        "nation_wales": "button: Wales",
        "nation_northern_ireland": "button: Northern Ireland",
        "nation_skip": "button: skip the nation question",
        "person_now": "on pages with {staff}: a person from the team can answer now",
        "person_back": "on pages with {staff}: the team is away and back {when}",
        "person_unknown": "on pages with {staff}: whether anyone is in is not known; never a promise",
        "feedback_yes": "button under a service page or after a chat: it helped",
        "feedback_no": "button under a service page or after a chat: it did not really help",
        "feedback_missing": "button under a service page or after a chat: something is missing",
        "feedback_thanks": "thanks for a Did this help? answer",
        "feedback_missing_thanks": "thanks for 'something's missing', pointing to a person",
        "menu_changed": "said when a button or saved place no longer exists in the flows",
        "button_back": "label of the button that goes back one step",
        "button_menu": "label of the button that goes to the main menu",
        "button_next": "default label of a node's `next` button",
        "help": "the answer to /help",
        "language_prompt": "asks the user to pick a language",
        "language_set": "confirms the new language (written in that language)",
        "forgotten": "confirms /forget deleted everything",
        "handoff_requested": "confirms a person has been asked for",
        "cleared": "said after /clear deleted the messages of this chat",
        "media_not_supported": "answer to a photo, voice note, sticker, file… (the bot reads text only)",
        "identity_warning": "answer to a shared location or contact: don't share identifying details here",
        "error_retry": "said when something went wrong on our side",
        "details_not_needed": "answer to a typed phone number, email or postcode: not needed, not kept",
        "slow_down": "said once when someone sends very many messages very fast",
        "services_title": "neutral first line above service cards (a lock screen shows it)",
        "command_start": "description of /start in the messenger's command menu",
        "command_menu": "description of /menu",
        "command_back": "description of /back",
        "command_language": "description of /language",
        "command_human": "description of /human",
        "command_help": "description of /help",
        "command_forget": "description of /forget",
        "command_clear": "description of /clear",
        "signal_reply_number": "on Signal (no buttons): the line above a menu's numbered choices",
        "signal_timer_set": "on Signal: said at first contact after the bot turns on disappearing messages; {days}",
        "signal_cleared": "on Signal: said after /clear; the bot can delete only its own messages",
        "signal_handoff_unavailable": "on Signal: a person was asked for, but that is not possible on Signal yet; services follow",
        "signal_not_understood": "on Signal: said when typed text matches no choice or trigger (the numbered choices follow)",
        "signal_media_not_supported": "on Signal: answer to a photo, voice note, sticker, file… (the bot reads text only)",
        "signal_help": "on Signal: the answer to /help (no buttons there: choices are answered by number)",
        "button_end_chat": "label of the button that ends a chat with staff",
        "handoff_queued": "a person was asked for, in staff hours; {position} is the place in the queue",
        "handoff_out_of_hours": "a person was asked for out of hours; {when} is when staff are next in",
        "handoff_no_hours": "a person was asked for and no staff hours are set",
        "handoff_already": "a person was asked for while a chat with staff is already open",
        "handoff_claimed": "a staff member joined; {name} is their chosen alias",
        "handoff_waiting": "nobody has answered yet; said once, before the services that can help meanwhile",
        "handoff_released": "staff handed the user back to the bot",
        "handoff_closed": "staff closed the chat",
        "handoff_expired": "the chat closed itself after a quiet spell",
        "handoff_ended": "the user ended the chat with staff",
        "handoff_in_progress": "a menu button was pressed while talking with staff",
        "staff_default_alias": "how staff are shown to users until they set /alias",
        "staff_case_opened": "staff note opening a case topic; {alias}, {language}, {path}, {hours}",
        "staff_out_of_hours": "staff note: the case was opened out of hours",
        "staff_claimed": "staff note after /claim; {name} is the alias the user sees",
        "staff_alias_set": "staff note after /alias; {name}",
        "staff_alias_invalid": "staff note: /alias needs a short name",
        "staff_user_left": "staff note: the user ended the chat or deleted their data",
        "staff_released": "staff note after /release",
        "staff_closed": "staff note after /close",
        "staff_expired": "staff note when a quiet case closes itself",
        "staff_link_lost": "staff note: the bot's secret changed, so the case can't reach the user and is closed",
        "staff_crisis": "staff note flagging crisis words from the user",
        "staff_signal_captcha": "staff note: Signal wants a captcha solved before the bot can send; {command}",
        "staff_unknown_command": "staff note for an unknown command in a case topic",
        "staff_queue_empty": "answer to /queue with no open cases",
        "staff_queue_header": "first line of the answer to /queue; {count}",
        "staff_queue_line": "one case in /queue; {alias}, {language}, {waiting} minutes, {state}",
        "staff_state_waiting": "in /queue: nobody has claimed the case",
        "staff_state_claimed": "in /queue: claimed by {name}",
        "staff_stats_header": "first line of /stats; {first}, {last} (dates), {days}",
        "staff_stats_day": "one day in /stats; {date}, {started}, {requested}, {claimed}, {crisis}",
        "staff_stats_total": "the totals line of /stats; {started}, {requested}, {claimed}, {crisis}",
        "staff_stats_waiting": "in /stats: time until a person answered; {median}, {p90} (minutes)",
        "staff_stats_no_waiting": "in /stats: nobody was answered in the period",
        "staff_stats_triggers": "in /stats: typed words that jumped to a topic (crisis is counted apart); {list}",
        "staff_stats_languages": "in /stats: languages chosen or started in; {list}",
        "staff_stats_nodes": "in /stats: the most visited steps; {list}",
        "staff_stats_feedback": "in /stats: Did this help? answers per page (yes/not really/missing); {list}",
        "staff_stats_none": "in /stats: an empty list",
        "staff_stats_usage": "answer to /stats with a bad number of days; {max}",
        "staff_reload_done": "staff note: edited flows are live; {flows}, {nodes}",
        "staff_reload_refused": "staff note: edited flows have errors and were not loaded; {count}",
        "staff_reload_more": "staff note: more reload errors than shown; {count}",
        "handoff_still_open": "added to the bot's answer to a command while a chat with staff is open",
        "handoff_delayed": "a person was asked for but the staff group can't be reached yet; before 24-hour services",
        "handoff_unanswered": "nobody from the team could answer a request in time, so it closed",
        "relay_queue_full": "said once when the user writes faster than messages can be passed on to staff",
        "staff_told": "staff note after a close: the user was told",
        "staff_not_told": "staff note after a close: the user could not be told; {reason}",
        "staff_reason_secret": "staff note: the reason the user can't be reached after the bot's secret changed",
        "staff_unanswered": "staff note when a request nobody answered closes itself",
        "staff_user_gone": "staff note: the user blocked the bot or deleted the chat, so the case closed",
        "staff_user_forgot": "main-thread staff note: a user asked to be forgotten; {alias}",
        "staff_user_forgot_topics": "main-thread staff note: a user asked to be forgotten; {count} earlier topics deleted",
        "staff_topic_failed": "main-thread staff note: a case topic could not be opened; {alias}, {reason}",
        "staff_topic_deleted": "main-thread staff note: a case's topic was deleted, so the case closed; {alias}",
        "staff_topic_reused": "staff note: a user over the hourly limit of new chats got their last topic back",
        "staff_reply_refused": "staff note: Telegram refused a reply to the user; {reason}",
        "staff_relay_in_refused": "staff note: a user's message could not be copied here; {reason}",
        "staff_queue_full": "staff note: replies are waiting to be sent; wait before sending more",
        "staff_not_a_case": "staff note in a topic that is not an open case",
        "staff_already_claimed": "staff note: /claim on a case already claimed",
        "staff_identity_withheld": "staff note: the user tried to share identifying details; {kind}",
        "staff_kind_contact": "in staff_identity_withheld: a contact card",
        "staff_kind_location": "in staff_identity_withheld: a location",
        "staff_kind_venue": "in staff_identity_withheld: a place (venue)",
        "staff_user_edited": "staff note above the new text of a message the user edited",
        "staff_main_thread_hint": "staff note: a message in the main thread that is not a command",
        "staff_anonymous": "staff note: a post as the group or a channel can't be answered",
        "staff_group_id": "answer to /id in a group; {id} is the group's id",
        "cleared_count": "said after /clear instead of `cleared`; {count} is how many messages were deleted",
        "cleared_none": "said after /clear instead of `cleared` when no message could be deleted",
    }
)

SPECIAL_FILES = ("settings.yaml", "services.yaml", "triggers.yaml", "messages.yaml")
FLOW_KEYS = ("flow", "start", "on_request", "nodes")
NODE_KEYS = ("say", "choices", "services", "next", "next_label", "end", "on_request", "urgent")
CHOICE_KEYS = ("label", "goto", "do")
TRIGGER_KEYS = ("id", "priority", "keywords", "goto", "do")
SERVICE_KEYS = ("name", "for", "phone", "text", "url", "hours", "regions", "source", "checked")
SETTINGS_KEYS = (
    "default_language",
    "languages",
    "time_zone",
    "start",
    "menu",
    "retention_days",
    "back_depth",
    "staff_hours",
    "closed",
    "handoff_nudge_minutes",
    "handoff_idle_minutes",
    "waiting_services",
    "preview_words",
    "bank_holidays",
    "handoff_unclaimed_minutes",
    "handoff_openings_per_hour",
    "transcript_days",
    "reviewed",
    "signal_expiration_days",
)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_HOURS = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
SERVICE_STALE_AFTER = timedelta(days=365)


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Choice:
    """A button on a node: it either goes to a node (`goto`, absolute id) or runs an action (`do`)."""

    label: str
    goto: str | None = None
    do: str | None = None


@dataclass(frozen=True, slots=True)
class Node:
    """One step of a conversation; `id` is absolute, `flow.node`."""

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
    """A topic: a named group of nodes with a start node."""

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
class Review:
    """Who read a language's translations as a native speaker or peer, and when; None when nobody has yet."""

    by: str | None = None
    on: date | None = None
    note: str = ""

    @property
    def done(self) -> bool:
        """True only when a named person reviewed it on a given day."""
        return bool(self.by) and self.on is not None


@dataclass(frozen=True, slots=True)
class Settings:
    """`flows/settings.yaml`: languages, time zone, entry points, retention, staff hours."""

    default_language: str = "en"
    languages: tuple[str, ...] = ("en",)
    time_zone: str = "Europe/London"
    start: str = "main.welcome"
    menu: str = "main.menu"
    retention_days: int = 30
    back_depth: int = 10
    # weekday (0 = Monday) -> opening intervals, local time
    staff_hours: Mapping[int, tuple[tuple[time, time], ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    closed: tuple[date, ...] = ()
    handoff_nudge_minutes: int = 10  # unclaimed this long: the user gets signposting to use meanwhile
    handoff_idle_minutes: int = 120  # no message either way this long: the case closes itself
    waiting_services: tuple[str, ...] = ()
    # language -> words a lock-screen preview (a message's first line) must not show
    preview_words: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    bank_holidays: str = "ENG"  # the UK nation whose bank holidays close the office ("" for none)
    handoff_unclaimed_minutes: int = 480  # staff-hours minutes an unanswered case stays open
    handoff_openings_per_hour: int = 3  # new staff topics one user may open in an hour; then the last is reused
    transcript_days: int = 30  # a closed case's topic (its transcript) is deleted after this many days
    # language -> its review; a language not listed counts as not reviewed
    reviewed: Mapping[str, Review] = field(default_factory=lambda: MappingProxyType({}))
    signal_expiration_days: int = 7  # Signal's disappearing-messages timer, set at first contact; 0: off


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
    # Compiled once at load so that matching typed text costs one regex search per trigger.
    trigger_index: KeywordIndex[Trigger] = field(default_factory=lambda: KeywordIndex(MappingProxyType({})))
    # The engine's per-(locale, node) views, derived lazily; a new FlowSet starts with an empty one.
    memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def with_texts(self, texts: Texts) -> "FlowSet":
        """The same flows with translations attached."""
        return replace(self, texts=texts)


Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding of the validator, printed as `file:line: node: what — fix`."""

    file: str
    line: int
    where: str
    what: str
    fix: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f" {self.where}:" if self.where else ""
        tag = " warning:" if self.severity == "warning" else ""
        fix = f" — {self.fix}" if self.fix else ""
        return f"{self.file}:{self.line}:{where}{tag} {self.what}{fix}"


class FlowError(BotError):
    """The flow set has errors; `problems` lists all of them (and any warnings)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        super().__init__(f"{len(errors)} error(s) in flows:\n" + "\n".join(str(p) for p in errors))


class Findings:
    """`errors` and `warnings` of a dataclass holding `problems`."""

    __slots__ = ()
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems that fail: flows that don't load, or a check that exits non-zero."""
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """Problems worth fixing that do not fail."""
        return tuple(p for p in self.problems if p.severity == "warning")


@dataclass(frozen=True, slots=True)
class Report(Findings):
    """What `check` found: the flow set if it has no errors, and every problem."""

    flowset: FlowSet | None
    problems: tuple[Problem, ...]


def load(directory: Path, today: date | None = None) -> FlowSet:
    """Load and validate a flows directory, or raise FlowError listing every problem."""
    report = check(directory, today)
    if report.flowset is None:
        raise FlowError(list(report.problems))
    return report.flowset


def check(directory: Path, today: date | None = None) -> Report:
    """Validate a flows directory and report every problem at once."""
    return _Checker(Path(directory), today).run()


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


def suggest(word: object, known: Iterable[str]) -> str:
    """A 'did you mean' hint for a misspelt key, or a list of what is allowed."""
    known = list(known)
    close = difflib.get_close_matches(str(word), known, n=1, cutoff=0.6)
    if close:
        return f"did you mean `{close[0]}`?"
    return "allowed here: " + ", ".join(f"`{k}`" for k in known)


def _plainly_about_leaving(word: str) -> bool:
    """False for a greeting or everyday word, or a single word in a language written with spaces."""
    said = normalise(word)
    if said in {normalise(w) for w in COMMON_WORDS}:
        return False
    spaced = not any("\u0e00" <= c <= "\u0e7f" or "\u3040" <= c <= "\u9fff" for c in said)
    return not spaced or " " in said


def _is_locale(code: str) -> bool:
    try:
        Locale.parse(code)
    except (ValueError, UnknownLocaleError, TypeError):
        return False
    return True


@dataclass
class _RawNode:
    id: str
    file: str
    line: int
    data: LineDict
    flow_on_request: bool


@dataclass
class _RawTrigger:
    file: str
    line: int
    data: LineDict


class _Checker:
    """Collects problems across all files; builds the FlowSet only when there are none."""

    def __init__(self, directory: Path, today: date | None) -> None:
        self.dir = directory
        self.today = today
        self.problems: list[Problem] = []
        self.flows: dict[str, Flow] = {}
        self.flow_files: dict[str, tuple[str, int]] = {}
        self.raw_nodes: dict[str, _RawNode] = {}
        self.nodes: dict[str, Node] = {}
        self.raw_triggers: list[_RawTrigger] = []
        self.services: dict[str, Service] = {}
        self.messages: dict[str, str] = {}
        self.settings = Settings()
        self.settings_lines: dict[str, int] = {}
        self.unreadable: set[str] = set()  # stems of files that are not valid YAML

    # -- reporting -----------------------------------------------------------------------------

    def error(self, file: str, line: int, where: str, what: str, fix: str) -> None:
        self.problems.append(Problem(file, line, where, what, fix, "error"))

    def warn(self, file: str, line: int, where: str, what: str, fix: str) -> None:
        self.problems.append(Problem(file, line, where, what, fix, "warning"))

    def display(self, path: Path) -> str:
        return str(self.dir / path.name)

    # -- driver --------------------------------------------------------------------------------

    def run(self) -> Report:
        if not self.dir.is_dir():
            self.error(str(self.dir), 0, "", "flows directory not found", "pass the folder holding the *.yaml flows")
            return Report(None, tuple(self.problems))
        files = sorted(self.dir.glob("*.yaml"))
        docs: dict[str, Any] = {}
        for path in files:
            try:
                docs[path.name] = (path, read_yaml(path))
            except YamlSyntaxError as exc:
                self.unreadable.add(path.stem)
                self.error(
                    self.display(path),
                    exc.line,
                    "",
                    f"invalid YAML at column {exc.column}: {exc.reason}",
                    "check indentation, colons and quotes on this line or the one before",
                )
        for name in SPECIAL_FILES:
            if name not in docs and not any(p.name == name for p in files):
                self.error(str(self.dir / name), 0, "", f"{name} is missing", f"create {name} in the flows folder")
        if "settings.yaml" in docs:
            self.parse_settings(*docs["settings.yaml"])
        if "messages.yaml" in docs:
            self.parse_messages(*docs["messages.yaml"])
        if "services.yaml" in docs:
            self.parse_services(*docs["services.yaml"])
        for name, (path, doc) in docs.items():
            if name not in SPECIAL_FILES:
                self.parse_flow(path, doc)
        if not self.flows and files:
            self.error(str(self.dir), 0, "", "no flow files found", "add a file like main.yaml with `flow:`, `start:` and `nodes:`")
        if "triggers.yaml" in docs:
            self.parse_triggers(*docs["triggers.yaml"])
        for raw in self.raw_nodes.values():
            self.build_node(raw)
        triggers = self.build_triggers()
        self.check_entry_points()
        self.check_waiting_services()
        self.check_on_request()
        self.check_trigger_rules(triggers)
        self.check_reachability(triggers)
        self.problems.sort(key=lambda p: (p.severity != "error", p.file, p.line))
        if any(p.severity == "error" for p in self.problems):
            return Report(None, tuple(self.problems))
        flowset = FlowSet(
            flows=MappingProxyType(dict(self.flows)),
            nodes=MappingProxyType(dict(self.nodes)),
            triggers=triggers,
            services=MappingProxyType(dict(self.services)),
            messages=MappingProxyType(dict(self.messages)),
            settings=self.settings,
            trigger_index=KeywordIndex.build(
                [(t, t.keywords) for t in triggers], self.settings.languages, self.settings.default_language
            ),
        )
        return Report(flowset, tuple(self.problems))

    # -- shared shape checks -------------------------------------------------------------------

    def mapping(self, file: str, line: int, where: str, value: Any, what: str) -> LineDict | None:
        if isinstance(value, LineDict):
            for key, dup_line in value.duplicates:
                self.error(file, dup_line, where, f"`{key}` appears twice in {what}", "keep one of them, or rename one")
            return value
        self.error(file, line, where, f"{what} should be a mapping of `key: value` lines", "indent its keys under it")
        return None

    def unknown_keys(self, file: str, where: str, data: LineDict, allowed: Iterable[str], what: str) -> None:
        allowed = tuple(allowed)
        for key in data:
            if key not in allowed:
                self.error(file, data.line_of(key), where, f"unknown key `{key}` in {what}", suggest(key, allowed))

    def text(self, file: str, line: int, where: str, value: Any, what: str, required: bool = True) -> str | None:
        if value is None:
            if required:
                self.error(file, line, where, f"{what} is missing or empty", f"write the {what} text")
            return None
        if isinstance(value, bool | int | float | date):
            self.error(
                file, line, where,
                f"{what} `{value}` was read as a {type(value).__name__}, not as text",
                "put it in quotes, e.g. \"No\" or \"111\"",
            )
            return None
        if not isinstance(value, str):
            self.error(file, line, where, f"{what} should be text", "write it as one line or a `|` block")
            return None
        if not value.strip():
            if required:
                self.error(file, line, where, f"{what} is empty", f"write the {what} text")
            return None
        return value.strip()

    def ref(self, flow: str, target: Any) -> str | None:
        """Resolve `goto`/`next`: `flow.node`, a node of this flow, or a flow's name (its start)."""
        if not isinstance(target, str) or not target.strip():
            return None
        target = target.strip()
        if "." in target:
            return target if target in self.raw_nodes else None
        if f"{flow}.{target}" in self.raw_nodes:
            return f"{flow}.{target}"
        if target in self.flows:
            return self.flows[target].start
        return None

    def ref_fix(self, flow: str, target: Any) -> str:
        target = str(target)
        if "." in target:
            flow_name, node = target.split(".", 1)
            if flow_name not in self.flows:
                return f"no flow `{flow_name}`; " + suggest(flow_name, self.flows)
            names = [n.split(".", 1)[1] for n in self.raw_nodes if n.startswith(flow_name + ".")]
            return f"flow `{flow_name}` has no node `{node}`; " + suggest(node, names)
        local = [n.split(".", 1)[1] for n in self.raw_nodes if n.startswith(flow + ".")]
        return "write `flow.node`, or a node of this flow; " + suggest(target, local + list(self.flows))

    # -- files ---------------------------------------------------------------------------------

    def parse_settings(self, path: Path, doc: Any) -> None:
        file = self.display(path)
        data = self.mapping(file, 1, "", doc, "settings.yaml")
        if data is None:
            return
        self.unknown_keys(file, "", data, SETTINGS_KEYS, "settings")
        self.settings_lines = {k: data.line_of(k) for k in data}
        values: dict[str, Any] = {}
        default = data.get("default_language", "en")
        if not isinstance(default, str) or not _is_locale(default):
            self.error(file, data.line_of("default_language"), "", f"`{default}` is not a language code", "use a code like en, ro, pt_BR")
            default = "en"
        values["default_language"] = default
        langs = data.get("languages", [default])
        if not isinstance(langs, list) or not langs:
            self.error(file, data.line_of("languages"), "", "`languages` should be a list of codes", "e.g. [en, ro, pt_BR]")
            langs = [default]
        good = []
        for i, code in enumerate(langs):
            if isinstance(code, str) and _is_locale(code):
                good.append(code)
            else:
                line = langs.line_of(i) if isinstance(langs, LineList) else data.line_of("languages")
                self.error(file, line, "", f"`{code}` is not a language code", "use a code like en, ro, pt_BR, zh_Hans")
        if default not in good:
            self.error(file, data.line_of("languages"), "", f"the default language `{default}` is not offered", "add it to `languages`")
        values["languages"] = tuple(dict.fromkeys(good)) or (default,)
        tz = data.get("time_zone", "Europe/London")
        try:
            zoneinfo.ZoneInfo(str(tz))
            values["time_zone"] = str(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.error(file, data.line_of("time_zone"), "", f"unknown time zone `{tz}`", "use an IANA name like Europe/London")
        for key in ("start", "menu"):
            if key in data:
                value = data[key]
                if not isinstance(value, str) or "." not in value:
                    self.error(file, data.line_of(key), "", f"`{key}` should be `flow.node`", "e.g. main.welcome")
                else:
                    values[key] = value
        for key, low in (("retention_days", 1), ("back_depth", 1), ("handoff_nudge_minutes", 1), ("handoff_idle_minutes", 5),
                         ("handoff_unclaimed_minutes", 5), ("handoff_openings_per_hour", 1), ("transcript_days", 1),
                         ("signal_expiration_days", 0)):
            if key in data:
                value = data[key]
                if isinstance(value, bool) or not isinstance(value, int) or value < low:
                    self.error(file, data.line_of(key), "", f"`{key}` should be a whole number ≥ {low}", "e.g. 30")
                else:
                    values[key] = value
        if "staff_hours" in data:
            values["staff_hours"] = self.parse_hours(file, data)
        if "bank_holidays" in data:
            nation = data["bank_holidays"]
            if nation in (None, "none"):
                values["bank_holidays"] = ""
            elif nation not in ("ENG", "WLS", "SCT", "NIR"):
                self.error(file, data.line_of("bank_holidays"), "", f"`{nation}` is not a UK nation code",
                           "use ENG (England), WLS (Wales), SCT (Scotland), NIR (Northern Ireland) or none")
            else:
                values["bank_holidays"] = nation
        if "closed" in data:
            closed = data["closed"]
            if not isinstance(closed, list) or not all(isinstance(d, date) for d in closed):
                self.error(file, data.line_of("closed"), "", "`closed` should be a list of dates", "e.g. [2026-12-25, 2026-12-26]")
            else:
                values["closed"] = tuple(closed)
        waiting = data.get("waiting_services", [])
        if not isinstance(waiting, list) or not all(isinstance(w, str) for w in waiting):
            self.error(file, data.line_of("waiting_services"), "", "`waiting_services` should be a list of service ids", "e.g. [emergency_999, samaritans]")
        else:
            values["waiting_services"] = tuple(waiting)
        if "preview_words" in data:
            words = data["preview_words"]
            if not isinstance(words, dict) or not all(
                isinstance(v, list) and all(isinstance(w, str) and w.strip() for w in v) for v in words.values()
            ):
                self.error(file, data.line_of("preview_words"), "", "`preview_words` should list words per language",
                           "e.g. {en: [sex, HIV], ro: [sex, HIV]}")
            else:
                values["preview_words"] = MappingProxyType({str(k): tuple(v) for k, v in words.items()})
        if "reviewed" in data:
            values["reviewed"] = self.parse_reviews(file, data, values["languages"])
        self.settings = Settings(**values)

    def parse_reviews(self, file: str, data: LineDict, languages: tuple[str, ...]) -> Mapping[str, Review]:
        """`reviewed: {ro: {by: NAME, date: DATE, note: TEXT}}`; a machine-written language keeps both null."""
        reviews: dict[str, Review] = {}
        entries = self.mapping(file, data.line_of("reviewed"), "", data["reviewed"], "`reviewed`")
        if entries is None:
            return MappingProxyType(reviews)
        for code, raw in entries.items():
            line = entries.line_of(code)
            if code not in languages:
                self.error(file, line, "", f"`reviewed` names `{code}`, which `languages` does not offer", "use a code from `languages`")
                continue
            entry = self.mapping(file, line, "", raw, f"`reviewed: {code}`")
            if entry is None:
                continue
            self.unknown_keys(file, "", entry, ("by", "date", "note"), f"`reviewed: {code}`")
            by, on, note = entry.get("by"), entry.get("date"), entry.get("note") or ""
            if by is not None and not isinstance(by, str) or on is not None and not isinstance(on, date):
                self.error(file, line, "", f"`reviewed: {code}` needs `by:` a name and `date:` a date (YYYY-MM-DD), or null for both",
                           "never record machine-written text as reviewed")
                continue
            if (by is None) != (on is None):
                self.error(file, line, "", f"`reviewed: {code}` has only one of `by` and `date`",
                           "a review names who read it and on which day; leave both null until a person has")
                continue
            reviews[str(code)] = Review(by=by, on=on, note=str(note))
        return MappingProxyType(reviews)

    def parse_hours(self, file: str, data: LineDict) -> Mapping[int, tuple[tuple[time, time], ...]]:
        hours = self.mapping(file, data.line_of("staff_hours"), "", data["staff_hours"], "`staff_hours`")
        result: dict[int, tuple[tuple[time, time], ...]] = {}
        if hours is None:
            return MappingProxyType(result)
        self.unknown_keys(file, "", hours, WEEKDAYS, "staff_hours")
        for day, spec in hours.items():
            if day not in WEEKDAYS:
                continue
            parts = spec if isinstance(spec, list) else [spec]
            intervals = []
            for part in parts:
                match = _HOURS.match(str(part).strip()) if isinstance(part, str) else None
                if not match:
                    self.error(file, hours.line_of(day), "", f"staff hours `{part}` for {day} are not `HH:MM-HH:MM`", "e.g. \"10:00-17:00\" (in quotes)")
                    continue
                h1, m1, h2, m2 = (int(g) for g in match.groups())
                if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2, m2) <= (h1, m1):
                    self.error(file, hours.line_of(day), "", f"staff hours `{part}` for {day} do not make sense", "the end must come after the start, within one day")
                    continue
                end = time(23, 59, 59) if h2 == 24 else time(h2, m2)
                intervals.append((time(h1, m1), end))
            result[WEEKDAYS.index(day)] = tuple(sorted(intervals))
        return MappingProxyType(result)

    def parse_messages(self, path: Path, doc: Any) -> None:
        file = self.display(path)
        data = self.mapping(file, 1, "", doc, "messages.yaml")
        if data is None:
            return
        self.unknown_keys(file, "", data, MESSAGE_KEYS, "messages")
        for key, hint in MESSAGE_KEYS.items():
            if key not in data:
                self.error(file, data.line, "", f"message `{key}` is missing", f"add `{key}:` ({hint})")
                continue
            value = self.text(file, data.line_of(key), "", data[key], f"message `{key}`")
            if value is not None:
                self.messages[key] = value

    def parse_services(self, path: Path, doc: Any) -> None:
        file = self.display(path)
        top = self.mapping(file, 1, "", doc, "services.yaml")
        if top is None:
            return
        self.unknown_keys(file, "", top, ("services",), "services.yaml")
        entries = self.mapping(file, top.line_of("services"), "", top.get("services"), "`services`")
        if entries is None:
            return
        for sid, raw in entries.items():
            line = entries.line_of(sid)
            where = f"service {sid}"
            if not isinstance(sid, str) or not _NAME.match(sid):
                self.error(file, line, where, f"service id `{sid}` is not a simple name", "use lower-case letters, digits and _")
                continue
            data = self.mapping(file, line, where, raw, f"service `{sid}`")
            if data is None:
                continue
            self.unknown_keys(file, where, data, SERVICE_KEYS, "a service")
            name = self.text(file, data.line_of("name"), where, data.get("name"), "`name`")
            about = self.text(file, data.line_of("for"), where, data.get("for"), "`for` (what it is for)")
            fields: dict[str, Any] = {}
            for key in ("phone", "text", "url", "hours", "source"):
                if key in data:
                    value = data[key]
                    if key in ("phone", "text") and isinstance(value, int) and not isinstance(value, bool):
                        value = str(value)
                    fields[key] = self.text(file, data.line_of(key), where, value, f"`{key}`")
            for key in ("url", "source"):
                if fields.get(key) and not str(fields[key]).startswith("https://"):
                    self.error(file, data.line_of(key), where, f"`{key}` should be an https:// address", "copy the full address from the browser")
            regions = data.get("regions", [])
            if not isinstance(regions, list) or not all(isinstance(r, str) for r in regions):
                self.error(file, data.line_of("regions"), where, "`regions` should be a list of names", "e.g. [England, Wales]")
                regions = []
            checked = data.get("checked")
            if checked is not None and not isinstance(checked, date):
                self.error(file, data.line_of("checked"), where, "`checked` should be a date", "write it as YYYY-MM-DD, without quotes")
                checked = None
            if checked is not None and self.today is not None and self.today - checked > SERVICE_STALE_AFTER:
                self.warn(file, data.line_of("checked"), where, f"last checked {checked}, over a year ago", "check the details against `source` and update `checked`")
            if name and about:
                self.services[sid] = Service(
                    id=sid, name=name, about=about, regions=tuple(regions), checked=checked, **fields
                )

    def parse_flow(self, path: Path, doc: Any) -> None:
        file = self.display(path)
        data = self.mapping(file, 1, "", doc, path.name)
        if data is None:
            return
        self.unknown_keys(file, "", data, FLOW_KEYS, "a flow file")
        name = data.get("flow")
        if not isinstance(name, str) or not _NAME.match(name):
            self.error(file, data.line_of("flow"), "", "`flow:` name is missing or not a simple name", "start the file with e.g. `flow: testing`")
            return
        if name in self.flows:
            other, other_line = self.flow_files[name]
            self.error(file, data.line_of("flow"), name, f"flow `{name}` is also defined in {other}:{other_line}", "rename one of them")
            return
        on_request = data.get("on_request", False)
        if not isinstance(on_request, bool):
            self.error(file, data.line_of("on_request"), name, "`on_request` should be true or false", "write `on_request: true`")
            on_request = False
        nodes = self.mapping(file, data.line_of("nodes"), name, data.get("nodes"), "`nodes`")
        if nodes is None:
            return
        if not nodes:
            self.error(file, data.line_of("nodes"), name, "the flow has no nodes", "add at least one node under `nodes:`")
            return
        for node_name, raw in nodes.items():
            line = nodes.line_of(node_name)
            if not isinstance(node_name, str) or not _NAME.match(node_name):
                self.error(file, line, f"{name}.{node_name}", f"node id `{node_name}` is not a simple name", "use lower-case letters, digits and _ (no dots or spaces)")
                continue
            node_data = self.mapping(file, line, f"{name}.{node_name}", raw, f"node `{node_name}`")
            if node_data is None:
                continue
            self.raw_nodes[f"{name}.{node_name}"] = _RawNode(f"{name}.{node_name}", file, line, node_data, on_request)
        start = data.get("start")
        first = next(iter(nodes))
        if start is None:
            start = first
        if not isinstance(start, str) or start not in nodes:
            self.error(file, data.line_of("start"), name, f"`start: {start}` is not a node of this flow", suggest(start, [str(n) for n in nodes]))
            start = first
        self.flows[name] = Flow(name=name, start=f"{name}.{start}", on_request=on_request)
        self.flow_files[name] = (file, data.line_of("flow"))

    def parse_triggers(self, path: Path, doc: Any) -> None:
        file = self.display(path)
        top = self.mapping(file, 1, "", doc, "triggers.yaml")
        if top is None:
            return
        self.unknown_keys(file, "", top, ("triggers",), "triggers.yaml")
        items = top.get("triggers")
        if not isinstance(items, LineList):
            self.error(file, top.line_of("triggers"), "", "`triggers` should be a list", "start each trigger with `- id: name`")
            return
        for i, raw in enumerate(items):
            data = self.mapping(file, items.line_of(i), "trigger", raw, "a trigger")
            if data is not None:
                self.raw_triggers.append(_RawTrigger(file, items.line_of(i), data))

    # -- building ------------------------------------------------------------------------------

    def target(self, raw_file: str, line: int, where: str, flow: str, data: LineDict, what: str) -> tuple[str | None, str | None]:
        """Check a `goto`/`do` pair: exactly one of them, each valid. Returns (goto, do)."""
        has_goto, has_do = "goto" in data, "do" in data
        if has_goto == has_do:
            self.error(raw_file, line, where, f"{what} needs exactly one of `goto` or `do`", "e.g. `goto: testing.menu` or `do: handoff`")
            return None, None
        if has_do:
            action = data["do"]
            if action not in ACTIONS:
                self.error(raw_file, data.line_of("do"), where, f"unknown action `{action}`", suggest(action, sorted(ACTIONS)))
                return None, None
            return None, action
        goto = self.ref(flow, data["goto"])
        if goto is None and not self.in_unreadable(data["goto"]):
            self.error(raw_file, data.line_of("goto"), where, f"`goto: {data['goto']}` leads nowhere", self.ref_fix(flow, data["goto"]))
        return goto, None

    def in_unreadable(self, target: Any) -> bool:
        # A link into a file that is not valid YAML is reported once, as that file's syntax error.
        return str(target).split(".", 1)[0] in self.unreadable

    def build_node(self, raw: _RawNode) -> None:
        data, file, where = raw.data, raw.file, raw.id
        flow = raw.id.split(".", 1)[0]
        self.unknown_keys(file, where, data, NODE_KEYS, "a node")
        say_raw = data.get("say")
        say: list[str] = []
        if say_raw is None:
            self.error(file, raw.line, where, "the node has no `say`", "add `say:` with what the bot should tell the user")
        elif isinstance(say_raw, LineList):
            if not say_raw:
                self.error(file, data.line_of("say"), where, "`say` is an empty list", "write at least one message")
            for i, item in enumerate(say_raw):
                text = self.text(file, say_raw.line_of(i), where, item, "`say` message")
                if text:
                    say.append(text)
        else:
            text = self.text(file, data.line_of("say"), where, say_raw, "`say`")
            if text:
                say.append(text)
        choices: list[Choice] = []
        raw_choices = data.get("choices", [])
        if raw_choices is None or not isinstance(raw_choices, list):
            self.error(file, data.line_of("choices"), where, "`choices` should be a list", "start each choice with `- label: ...`")
            raw_choices = []
        for i, item in enumerate(raw_choices):
            line = raw_choices.line_of(i) if isinstance(raw_choices, LineList) else data.line_of("choices")
            choice = self.mapping(file, line, where, item, "a choice")
            if choice is None:
                continue
            self.unknown_keys(file, where, choice, CHOICE_KEYS, "a choice")
            label = self.text(file, choice.line_of("label"), where, choice.get("label"), "choice `label`")
            goto, do = self.target(file, line, where, flow, choice, "a choice")
            if label and (goto or do):
                choices.append(Choice(label=label, goto=goto, do=do))
        services = data.get("services", [])
        if not isinstance(services, list):
            self.error(file, data.line_of("services"), where, "`services` should be a list of ids", "e.g. [sexual_health_clinic, nhs_111]")
            services = []
        for i, sid in enumerate(services):
            if sid not in self.services:
                line = services.line_of(i) if isinstance(services, LineList) else data.line_of("services")
                self.error(file, line, where, f"unknown service `{sid}`", suggest(sid, self.services) + " (services are listed in services.yaml)")
        nxt = None
        if "next" in data:
            nxt = self.ref(flow, data["next"])
            if nxt is None and not self.in_unreadable(data["next"]):
                self.error(file, data.line_of("next"), where, f"`next: {data['next']}` leads nowhere", self.ref_fix(flow, data["next"]))
        next_label = None
        if "next_label" in data:
            next_label = self.text(file, data.line_of("next_label"), where, data["next_label"], "`next_label`")
            if "next" not in data:
                self.error(file, data.line_of("next_label"), where, "`next_label` without `next`", "add `next:` or remove `next_label`")
        end = data.get("end", False)
        if not isinstance(end, bool):
            self.error(file, data.line_of("end"), where, "`end` should be true or false", "write `end: true`")
            end = False
        on_request = data.get("on_request", False)
        if not isinstance(on_request, bool):
            self.error(file, data.line_of("on_request"), where, "`on_request` should be true or false", "write `on_request: true`")
            on_request = False
        urgent = data.get("urgent", False)
        if not isinstance(urgent, bool):
            self.error(file, data.line_of("urgent"), where, "`urgent` should be true or false", "write `urgent: true`")
            urgent = False
        if not raw_choices and "next" not in data and not end:
            self.error(file, raw.line, where, "the node is a dead end: no `choices`, no `next`", "add choices or `next:`, or mark it `end: true`")
        self.nodes[raw.id] = Node(
            id=raw.id,
            say=tuple(say),
            choices=tuple(choices),
            services=tuple(s for s in services if isinstance(s, str)),
            next=nxt,
            next_label=next_label,
            end=end,
            on_request=on_request or raw.flow_on_request,
            urgent=urgent,
        )

    def build_triggers(self) -> tuple[Trigger, ...]:
        triggers: list[Trigger] = []
        seen: dict[str, int] = {}
        for raw in self.raw_triggers:
            data, file = raw.data, raw.file
            tid = data.get("id")
            where = f"trigger {tid}"
            self.unknown_keys(file, where, data, TRIGGER_KEYS, "a trigger")
            if not isinstance(tid, str) or not _NAME.match(tid):
                self.error(file, raw.line, "trigger", "the trigger has no simple `id`", "add `id: crisis` (lower-case letters, digits, _)")
                continue
            if tid in seen:
                self.error(file, raw.line, where, f"trigger id `{tid}` is used twice (also line {seen[tid]})", "rename one of them")
                continue
            seen[tid] = raw.line
            priority = data.get("priority", 0)
            if isinstance(priority, bool) or not isinstance(priority, int):
                self.error(file, data.line_of("priority"), where, "`priority` should be a whole number", "higher numbers are tried first, e.g. 100")
                priority = 0
            # Triggers can point anywhere, so a bare name is resolved against the flows by name.
            goto, do = self.target(file, raw.line, where, "", data, "a trigger")
            keywords = self.mapping(file, data.line_of("keywords"), where, data.get("keywords"), "`keywords`")
            words: dict[str, tuple[str, ...]] = {}
            if keywords is not None:
                if not keywords:
                    self.error(file, data.line_of("keywords"), where, "the trigger has no keywords", "add e.g. `en: [word, another phrase]`")
                for lang, items in keywords.items():
                    line = keywords.line_of(lang)
                    if not isinstance(lang, str) or not _is_locale(lang):
                        self.error(file, line, where, f"`{lang}` is not a language code", "use a code like en, ro, pt_BR")
                        continue
                    if lang not in self.settings.languages:
                        self.warn(file, line, where, f"keywords for `{lang}`, which settings.yaml does not offer", "add it to `languages` or remove these keywords")
                    if not isinstance(items, list) or not items:
                        self.error(file, line, where, f"keywords for `{lang}` should be a non-empty list", "e.g. [help me, in danger]")
                        continue
                    texts = []
                    for i, word in enumerate(items):
                        text = self.text(file, items.line_of(i) if isinstance(items, LineList) else line, where, word, "keyword")
                        if text:
                            texts.append(text)
                    words[lang] = tuple(texts)
            if goto or do:
                triggers.append(Trigger(tid, priority, MappingProxyType(words), goto, do))
        triggers.sort(key=lambda t: -t.priority)
        return tuple(triggers)

    # -- whole-set rules -----------------------------------------------------------------------

    def check_entry_points(self) -> None:
        file = str(self.dir / "settings.yaml")
        for key in ("start", "menu"):
            target = getattr(self.settings, key)
            if self.flows and target not in self.raw_nodes and not self.in_unreadable(target):
                self.error(file, self.settings_lines.get(key, 1), "", f"`{key}: {target}` is not a node", self.ref_fix("", target))

    def check_waiting_services(self) -> None:
        file = str(self.dir / "settings.yaml")
        for sid in self.settings.waiting_services:
            if sid not in self.services:
                line = self.settings_lines.get("waiting_services", 1)
                self.error(file, line, "", f"unknown service `{sid}` in waiting_services", suggest(sid, self.services))

    def check_on_request(self) -> None:
        """A node marked on_request may only be entered by the user's own choice or words."""
        fix = "a wish to exit is never assumed: reach it only from a choice the user picks (not the first menu) or a trigger"
        settings_file = str(self.dir / "settings.yaml")
        first_menu = []
        for key in ("start", "menu"):
            node_id = getattr(self.settings, key)
            node = self.nodes.get(node_id)
            if node is None:
                continue
            if node.on_request:
                self.error(settings_file, self.settings_lines.get(key, 1), "", f"`{key}` is {node_id}, which is on_request", fix)
            first_menu.append(node)
            if node.next and node.next in self.nodes:
                first_menu.append(self.nodes[node.next])
        for node in first_menu:
            raw = self.raw_nodes[node.id]
            for choice in node.choices:
                if choice.goto and self.nodes.get(choice.goto, node).on_request:
                    self.error(raw.file, raw.line, node.id, f"the first menu offers on_request node {choice.goto}", fix)
        for node in self.nodes.values():
            if node.next and not node.on_request and self.nodes.get(node.next, node).on_request:
                raw = self.raw_nodes[node.id]
                self.error(raw.file, raw.data.line_of("next"), node.id, f"`next` leads into on_request node {node.next}", fix)

    def check_trigger_rules(self, triggers: tuple[Trigger, ...]) -> None:
        """Crisis always wins, and words into on_request support say plainly what they ask for."""
        lines = {str(raw.data.get("id")): raw for raw in self.raw_triggers}
        crisis = next((t for t in triggers if t.id == CRISIS_TRIGGER), None)
        for trigger in triggers:
            raw = lines.get(trigger.id)
            file, line = (raw.file, raw.line) if raw else (str(self.dir / "triggers.yaml"), 1)
            if crisis is not None and trigger is not crisis and trigger.priority >= crisis.priority:
                self.error(
                    file, raw.data.line_of("priority") if raw else line, f"trigger {trigger.id}",
                    f"priority {trigger.priority} is not below crisis ({crisis.priority})",
                    f"crisis words must always win: give `{trigger.id}` a priority under {crisis.priority}",
                )
            target = self.nodes.get(trigger.goto or "")
            if target is None or not target.on_request:
                continue
            for lang, words in trigger.keywords.items():
                for word in words:
                    if not _plainly_about_leaving(word):
                        self.error(
                            file, line, f"trigger {trigger.id}",
                            f"keyword `{word}` ({lang}) is a greeting, a common word or a single word, "
                            f"so it would send people to {target.id} who never asked",
                            "a wish to exit is never assumed: use words that say plainly it is about leaving sex work",
                        )

    def check_reachability(self, triggers: tuple[Trigger, ...]) -> None:
        roots = [self.settings.start, self.settings.menu] + [t.goto for t in triggers if t.goto]
        seen: set[str] = set()
        todo = [r for r in roots if r in self.nodes]
        while todo:
            node_id = todo.pop()
            if node_id in seen:
                continue
            seen.add(node_id)
            node = self.nodes[node_id]
            targets = [c.goto for c in node.choices if c.goto]
            if any(c.do == "restart" for c in node.choices):
                targets.append(self.settings.start)
            if node.next:
                targets.append(node.next)
            todo.extend(t for t in targets if t and t not in seen)
        if not self.nodes or self.settings.start not in self.nodes:
            return
        for node_id, raw in self.raw_nodes.items():
            if node_id in self.nodes and node_id not in seen:
                self.warn(raw.file, raw.line, node_id, "no choice, `next` or trigger leads here", "link to it from a menu, or delete it")
