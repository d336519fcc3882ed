"""Kept versions of the flows: before each publish, the live files are copied to `flows/.versions/N/`.

Each version has a small `meta.yaml`: the staff alias of who published over it (never a Telegram name
or id), when, and the summary of what that publish changed. Plain files, so the charity can keep them
in git; the loader and the live reload read only `flows/*.yaml`, never this folder.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

from bot.errors import BotError

FOLDER = ".versions"
META = "meta.yaml"


class NoSuchVersion(BotError):
    """A version number that is not kept."""


@dataclass(frozen=True, slots=True)
class Version:
    """One kept version: the flows as they were before publish `number` replaced them."""

    number: int
    published_by: str
    when: str  # ISO 8601, in the charity's time zone
    summary: str


@dataclass(frozen=True)
class Versions:
    """The versions kept beside the live flows folder."""

    flows_dir: Path

    @property
    def root(self) -> Path:
        """`flows/.versions`."""
        return self.flows_dir / FOLDER

    def numbers(self) -> list[int]:
        """Kept version numbers, oldest first."""
        if not self.root.is_dir():
            return []
        return sorted(int(path.name) for path in self.root.iterdir() if path.is_dir() and path.name.isdigit())

    def keep(self, published_by: str, when: datetime, summary: str) -> int:
        """Copy the live flow files to the next version folder with its meta.yaml; returns its number."""
        number = max(self.numbers(), default=0) + 1
        folder = self.root / str(number)
        building = self.root / f".{number}.partial"  # a crash half-way leaves no half version behind
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir(parents=True)
        for path in sorted(self.flows_dir.glob("*.yaml")):
            shutil.copyfile(path, building / path.name)
        meta = {"published_by": published_by, "when": when.isoformat(timespec="seconds"), "summary": summary}
        (building / META).write_text(yaml.safe_dump(meta, allow_unicode=True, sort_keys=False), encoding="utf-8")
        building.rename(folder)
        return number

    def get(self, number: int) -> Version:
        """One version's meta; raises NoSuchVersion."""
        path = self.root / str(number) / META
        if not path.is_file():
            raise NoSuchVersion(f"there is no version {number}")
        meta = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return Version(
            number, str(meta.get("published_by", "")), str(meta.get("when", "")), str(meta.get("summary", ""))
        )

    def files(self, number: int) -> list[Path]:
        """Version `number`'s flow files (not its meta.yaml); raises NoSuchVersion."""
        self.get(number)
        return sorted(path for path in (self.root / str(number)).glob("*.yaml") if path.name != META)

    def latest(self, count: int = 10) -> list[Version]:
        """The last `count` versions, newest first."""
        return [self.get(number) for number in reversed(self.numbers()[-count:])]
