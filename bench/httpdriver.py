"""HTTP mode, the parent's side: the tests' fake Bot API server on 127.0.0.1, and users walking through it.

The bot runs in a worker process and long-polls this server like api.telegram.org; each simulated
user queues an update, waits until a menu reaches their chat, then takes the next step.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bench.localapi import Keyboards
from bench.updates import StepError, press_data
from bench.walk import Step
from tests.fakebotapi import FakeBotAPI

STEP_TIMEOUT = 20.0  # seconds a user waits for a menu before the step counts as failed


@dataclass
class BenchBotAPI(FakeBotAPI):
    """The fake server, also waking the user whose chat a keyboard was just sent to."""

    keyboards: Keyboards = field(default_factory=Keyboards)
    _waiting: dict[int, asyncio.Future[None]] = field(default_factory=dict)

    def m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        message = super().m_sendMessage(params)
        markup = params.get("reply_markup")
        if isinstance(markup, dict):
            chat_id = int(params["chat_id"])
            self.keyboards.record(chat_id, markup)
            waiter = self._waiting.pop(chat_id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        return message

    def expect_menu(self, chat_id: int) -> asyncio.Future[None]:
        """A future done when the next keyboard reaches `chat_id`."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[chat_id] = waiter
        return waiter

    def forget(self, chat_id: int) -> None:
        """A user's walk is over: drop what was kept about their chat, so memory stays bounded."""
        self.keyboards.forget(chat_id)
        self._message_ids.pop(chat_id, None)
        self.calls.clear()


@dataclass
class Drive:
    """How a batch of users went: updates answered, wall time, and client-side round trips."""

    updates: int = 0
    errors: int = 0
    seconds: float = 0.0
    round_trips: list[float] = field(default_factory=list)
    answered_at: list[float] = field(default_factory=list)  # perf_counter() of each answer
    began: float = field(default_factory=time.perf_counter)


async def _walk(
    api: BenchBotAPI, chat_id: int, steps: list[Step], drive: Drive, timeout: float | None = STEP_TIMEOUT
) -> None:
    for step in steps:
        waiter = api.expect_menu(chat_id)
        try:
            if step.kind == "press":
                api.user_presses(chat_id, press_data(api.keyboards.latest.get(chat_id), step.position), message_id=1)
            else:
                api.user_sends_text(chat_id, f"/{step.command}" if step.kind == "command" else step.text)
            began = time.perf_counter()
            await asyncio.wait_for(waiter, timeout)
        except (TimeoutError, StepError):
            drive.errors += 1
            break
        answered = time.perf_counter()
        drive.round_trips.append(answered - began)
        drive.answered_at.append(answered)
        drive.updates += 1
    api.forget(chat_id)


async def drive(api: BenchBotAPI, steps: list[Step], ids: list[int], inflight: int) -> Drive:
    """Walk every user in `ids`, `inflight` of them at a time."""
    result = Drive()
    queue: Iterator[int] = iter(ids)

    async def lane() -> None:
        for chat_id in queue:  # one iterator shared by every lane: each user walks once
            await _walk(api, chat_id, steps, result)

    result.began = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(inflight)))
    result.seconds = time.perf_counter() - result.began
    return result


async def drive_for(api: BenchBotAPI, steps: list[Step], ids: list[int], inflight: int, seconds: float) -> Drive:
    """Walk users from `ids`, `inflight` at a time, for `seconds` of wall time, then stop wherever they are.

    No step times out: a user whose reply is late waits, as a real one would, until the window ends.
    """
    result = Drive()
    queue: Iterator[int] = iter(ids)

    async def lane() -> None:
        for chat_id in queue:
            await _walk(api, chat_id, steps, result, timeout=None)

    result.began = time.perf_counter()
    with contextlib.suppress(TimeoutError):  # the window is over: every lane is cancelled mid-walk
        await asyncio.wait_for(asyncio.gather(*(lane() for _ in range(inflight))), seconds)
    result.seconds = time.perf_counter() - result.began
    return result


def timeline(drive: Drive, bucket: float) -> list[int]:
    """Answers per `bucket` seconds over the window, in order (a stall shows as a run of zeros)."""
    counts = [0] * max(1, math.ceil(drive.seconds / bucket))
    for answered in drive.answered_at:
        counts[min(len(counts) - 1, max(0, int((answered - drive.began) / bucket)))] += 1
    return counts
