"""Slowing down one sender who floods, without slowing anyone else: a token bucket per sender, in memory."""

from __future__ import annotations

import enum
from collections.abc import Hashable
from dataclasses import dataclass, field


class Verdict(enum.Enum):
    """What to do with one inbound message."""

    ALLOW = "allow"
    WARN = "warn"  # the first message over the limit: answer once with a polite note, don't step
    DROP = "drop"  # further messages over the limit: ignore until the bucket refills


@dataclass
class _Bucket:
    tokens: float
    updated: float
    warned: bool = False


@dataclass
class FloodGate:
    """`burst` messages at once, then `per_second` a second; nobody typing by hand comes near it."""

    burst: int = 20
    per_second: float = 1.0
    _buckets: dict[Hashable, _Bucket] = field(default_factory=dict)
    _pruned: float = float("-inf")

    def check(self, sender: Hashable, now: float) -> Verdict:
        """Take one token for `sender` at time `now` (seconds, monotonic)."""
        bucket = self._buckets.get(sender)
        if bucket is None:
            # At most once per refill time, so thousands of senders at once don't make every check a scan.
            if len(self._buckets) > 10_000 and now - self._pruned >= self.burst / self.per_second:
                self._forget_full(now)
            bucket = self._buckets[sender] = _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.per_second)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.warned = False
            return Verdict.ALLOW
        if bucket.warned:
            return Verdict.DROP
        bucket.warned = True
        return Verdict.WARN

    def _forget_full(self, now: float) -> None:
        # A bucket that has refilled holds nothing worth keeping, so memory stays bounded by active senders.
        refill = self.burst / self.per_second
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated < refill}
        self._pruned = now
