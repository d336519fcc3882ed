"""Live reload: pick up edits to flows/ and locales/ without a restart, and never run a broken set.

A new flow set is validated whole (bot.content.load_content) and swapped in with one assignment, so
each step still sees exactly one flow set. A broken edit leaves the running flows in place and the
errors go to staff; the log gets only a count.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bot.conversation import Conversations
from bot.flows import FlowError, FlowSet
from bot.flows.content import load_content
from bot.i18n.catalog import CatalogError
from bot.wording import staff_text

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5  # a stat of each file in flows/ and locales/: cheap, and edits go live well within 2 s
SETTLE_SECONDS = 0.2  # an editor may write a file in several steps: wait until it stops changing
ERRORS_SHOWN = 15
NOTICE_MAX = 3500  # under Telegram's 4096 characters, with room for the header line

Notify = Callable[[str], Awaitable[None]]
Loaded = Callable[[FlowSet], Awaitable[None]]
Snapshot = frozenset[tuple[str, int, int]]


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """What a reload did: the new flow set, or the errors that kept the old one running."""

    flows: FlowSet | None
    errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.flows is not None


def snapshot(flows_dir: Path, locales_dir: Path) -> Snapshot:
    """(path, size, mtime) of every file a reload reads; any change, addition or removal shows."""
    files = [*flows_dir.glob("*.yaml"), *(locales_dir.rglob("*.po") if locales_dir.is_dir() else ())]
    seen = set()
    for path in files:
        try:
            info = path.stat()
        except OSError:
            continue  # deleted between listing and stat: the next look sees it gone
        seen.add((str(path), info.st_size, info.st_mtime_ns))
    return frozenset(seen)


@dataclass
class Reloader:
    """Reloads on file change (polling), on request (SIGHUP, /reload), one reload at a time."""

    conversations: Conversations
    flows_dir: Path
    locales_dir: Path
    notify: Notify | None = None  # posts a notice to staff
    poll_seconds: float | None = POLL_SECONDS  # None: no polling, only requests
    on_loaded: Loaded | None = None  # what else must follow new flows (the transport's command menu)
    _seen: Snapshot = field(init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _wanted: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        # The files as they are now, when the running flows were just loaded from them: an edit made
        # before the watch loop first runs must still count as a change.
        self._seen = snapshot(self.flows_dir, self.locales_dir)

    def request(self) -> None:
        """Ask the watch loop to reload now (safe to call from a signal handler on the loop)."""
        self._wanted.set()

    async def reload(self, reason: str) -> ReloadResult:
        """Load and validate the whole set; swap it in if sound, else keep the old; tell staff either way."""
        async with self._lock:
            self._seen = await asyncio.to_thread(snapshot, self.flows_dir, self.locales_dir)
            try:
                flows = await asyncio.to_thread(load_content, self.flows_dir, self.locales_dir, date.today(), live=True)
            except FlowError as exc:
                result = ReloadResult(None, tuple(str(p) for p in exc.problems if p.severity == "error"))
            except CatalogError as exc:
                result = ReloadResult(None, (str(exc),))
            else:
                self.conversations.flows = flows  # one assignment: a step in progress keeps its own set
                result = ReloadResult(flows)
        if result.flows is not None:
            flows = result.flows
            log.info("flows reloaded (%s): %d flows, %d nodes", reason, len(flows.flows), len(flows.nodes))
            if self.on_loaded is not None:
                try:
                    await self.on_loaded(result.flows)
                except Exception as exc:
                    log.warning("could not update what follows a reload: %s", type(exc).__name__)
        else:
            log.warning(
                "reload refused (%s): %d error(s); still running the previous flows", reason, len(result.errors)
            )
        if self.notify is not None:
            try:
                await self.notify(self.notice(result))
            except Exception as exc:
                log.warning("could not post the reload notice to staff: %s", type(exc).__name__)
        return result

    def notice(self, result: ReloadResult) -> str:
        """The staff note for a reload, worded from the flows now running."""
        flows = self.conversations.flows
        if result.flows is not None:
            return staff_text(flows, "staff_reload_done", flows=len(result.flows.flows), nodes=len(result.flows.nodes))
        lines = [staff_text(flows, "staff_reload_refused", count=len(result.errors))]
        size = len(lines[0])
        shown = 0
        for error in result.errors[:ERRORS_SHOWN]:
            if size + len(error) + 1 > NOTICE_MAX:
                break
            lines.append(error)
            size += len(error) + 1
            shown += 1
        if shown < len(result.errors):
            lines.append(staff_text(flows, "staff_reload_more", count=len(result.errors) - shown))
        return "\n".join(lines)

    async def changed(self) -> bool:
        """Whether the files differ from the last reload, once they have stopped changing."""
        current = await asyncio.to_thread(snapshot, self.flows_dir, self.locales_dir)
        if current == self._seen:
            return False
        while True:
            await asyncio.sleep(SETTLE_SECONDS)
            later = await asyncio.to_thread(snapshot, self.flows_dir, self.locales_dir)
            if later == current:
                return True
            current = later

    async def watch_forever(self) -> None:
        """Reload when the files change or a reload is requested; a failure is logged and the loop goes on."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wanted.wait(), self.poll_seconds)
            try:
                if self._wanted.is_set():
                    self._wanted.clear()
                    await self.reload("signal")
                elif self.poll_seconds is not None and await self.changed():
                    await self.reload("files changed")
            except Exception as exc:
                log.error("reload failed: %s", type(exc).__name__)
