"""What a draft changes against the live flows: steps added, removed and changed, services changed."""

from __future__ import annotations

from dataclasses import dataclass

from bot.flows import FlowSet


@dataclass(frozen=True, slots=True)
class Changes:
    """Node and service ids, each list sorted; `changed` means the same id with different content."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    services_added: tuple[str, ...] = ()
    services_removed: tuple[str, ...] = ()
    services_changed: tuple[str, ...] = ()
    other_changed: tuple[str, ...] = ()  # triggers, settings, the bot's own messages

    @property
    def empty(self) -> bool:
        """Whether the draft is the same as the live flows."""
        return not any(
            (
                self.added,
                self.removed,
                self.changed,
                self.services_added,
                self.services_removed,
                self.services_changed,
                self.other_changed,
            )
        )

    def kinds(self) -> list[tuple[str, str]]:
        """(kind, the ids listed) for each kind of change there is, in a fixed order; a kind names a staff
        note `staff_draft_<kind>` in flows/messages.yaml."""
        kinds = (
            ("added", self.added),
            ("removed", self.removed),
            ("changed", self.changed),
            ("services_added", self.services_added),
            ("services_removed", self.services_removed),
            ("services_changed", self.services_changed),
            ("other_changed", self.other_changed),
        )
        return [(kind, listed(ids)) for kind, ids in kinds if ids]


def compare(live: FlowSet, draft: FlowSet) -> Changes:
    """The differences between two flow sets, by id (the model holds no line numbers, so moving text
    around in a file is not a change)."""
    nodes = _diff(dict(live.nodes), dict(draft.nodes))
    services = _diff(dict(live.services), dict(draft.services))
    other = [
        name
        for name, before, after in (
            ("triggers", live.triggers, draft.triggers),
            ("settings", live.settings, draft.settings),
            ("messages", dict(live.messages), dict(draft.messages)),
            ("flow starts", {k: f.start for k, f in live.flows.items()}, {k: f.start for k, f in draft.flows.items()}),
        )
        if before != after
    ]
    return Changes(*nodes, *services, tuple(other))


def _diff(
    before: dict[str, object], after: dict[str, object]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    added = tuple(sorted(after.keys() - before.keys()))
    removed = tuple(sorted(before.keys() - after.keys()))
    changed = tuple(sorted(key for key in before.keys() & after.keys() if before[key] != after[key]))
    return added, removed, changed


SHOWN = 12  # ids named per line; the rest are counted


def listed(ids: tuple[str, ...]) -> str:
    """The ids joined by commas, the first SHOWN of them, with how many more."""
    shown = ", ".join(ids[:SHOWN])
    return shown if len(ids) <= SHOWN else f"{shown} and {len(ids) - SHOWN} more"
