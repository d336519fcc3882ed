"""The flood gate: a burst is fine, a flood is answered once and then ignored, others are untouched."""

from __future__ import annotations

from bot.transports.floodgate import FloodGate, Verdict


def test_a_burst_passes_then_one_warning_then_silence_until_it_refills() -> None:
    gate = FloodGate(burst=5, per_second=1.0)
    verdicts = [gate.check("a", 0.0) for _ in range(8)]
    assert verdicts == [Verdict.ALLOW] * 5 + [Verdict.WARN, Verdict.DROP, Verdict.DROP]
    assert gate.check("a", 1.0) is Verdict.ALLOW  # one token back after a second
    assert gate.check("a", 1.0) is Verdict.WARN  # warned again: the last warning was followed by an allowed message


def test_one_sender_flooding_does_not_touch_another() -> None:
    gate = FloodGate(burst=3, per_second=1.0)
    for _ in range(100):
        gate.check("flooder", 0.0)
    assert gate.check("someone else", 0.0) is Verdict.ALLOW


def test_memory_is_bounded_by_active_senders() -> None:
    gate = FloodGate(burst=2, per_second=1.0)
    for sender in range(10_002):
        gate.check(sender, 0.0)
    gate.check("late", 100.0)
    assert len(gate._buckets) == 1


def test_many_active_senders_are_not_rescanned_on_every_new_one() -> None:
    gate = FloodGate(burst=2, per_second=1.0)
    for sender in range(10_001):
        gate.check(sender, 0.0)
    gate.check("first over the limit", 0.5)  # prunes: nobody has refilled yet, so all stay
    pruned_at = gate._pruned
    for sender in range(100):
        gate.check(("more", sender), 0.6)
    assert gate._pruned == pruned_at  # no second scan within the refill time
    assert len(gate._buckets) == 10_102
