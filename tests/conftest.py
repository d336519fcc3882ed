"""Shared fixtures: a small valid flow set on disk that each test can break in one place."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FLOWS = REPO / "flows"

MAIN = """\
flow: main
start: welcome
nodes:
  welcome:
    say: Hello.
    choices:
      - {label: "Info", goto: info.menu}
      - {label: "Person", do: handoff}
  menu:
    say: Menu.
    choices:
      - {label: "Info", goto: info.menu}
"""

INFO = """\
flow: info
start: menu
nodes:
  menu:
    say: Pick one.
    choices:
      - {label: "Clinic", goto: clinic}
      - {label: "Leaving", goto: exit.start}
  clinic:
    say: Go to a clinic.
    services: [clinic]
    next: main.menu
"""

EXIT = """\
flow: exit
on_request: true
nodes:
  start:
    say: Whatever you decide, we support you.
    end: true
"""

SETTINGS = """\
default_language: en
languages: [en]
start: main.welcome
menu: main.menu
"""

SERVICES = """\
services:
  clinic:
    name: Clinic
    for: Tests.
"""

TRIGGERS = """\
triggers:
  - id: help
    priority: 10
    do: handoff
    keywords:
      en: [person]
"""

WriteFlows = Callable[..., Path]


@pytest.fixture
def write_flows(tmp_path: Path) -> WriteFlows:
    """Write a valid minimal flow set, with any file replaced (or removed with None)."""

    def write(**files: str | None) -> Path:
        directory = tmp_path / "flows"
        directory.mkdir(exist_ok=True)
        base = {
            "main.yaml": MAIN,
            "info.yaml": INFO,
            "exit.yaml": EXIT,
            "settings.yaml": SETTINGS,
            "services.yaml": SERVICES,
            "triggers.yaml": TRIGGERS,
        }
        shutil.copy(FLOWS / "messages.yaml", directory / "messages.yaml")
        for name, text in files.items():
            base[name.replace("_yaml", ".yaml")] = text
        for name, text in base.items():
            path = directory / name
            if text is None:
                path.unlink(missing_ok=True)
            else:
                path.write_text(textwrap.dedent(text), encoding="utf-8")
        return directory

    return write
