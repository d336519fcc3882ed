"""What the checker finds: a `Problem` printed as `file:line: where: what — fix`, and `FlowError`."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from bot.errors import BotError

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


def suggest(word: object, known: Iterable[str]) -> str:
    """A 'did you mean' hint for a misspelt key, or a list of what is allowed."""
    known = list(known)
    close = difflib.get_close_matches(str(word), known, n=1, cutoff=0.6)
    if close:
        return f"did you mean `{close[0]}`?"
    return "allowed here: " + ", ".join(f"`{k}`" for k in known)
