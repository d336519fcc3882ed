"""The draft: a whole copy of the flows, on disk beside them, where staff's uploaded files replace the live ones.

There is one draft for the staff group at a time. It never lives in the database: it is a folder of
YAML files (`drafts/flows/`), so it survives a restart and can be read like the flows themselves.
"""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bot.errors import BotError

MAX_FILE_BYTES = 512 * 1024  # the shipped flows' largest file is a few tens of KB
MAX_ZIP_BYTES = 4 * 1024 * 1024  # unpacked, all files together
YAML_SUFFIXES = (".yaml", ".yml")


class UploadRefused(BotError):
    """A file staff sent that the draft won't take; the message is one line saying why."""


@dataclass(frozen=True)
class Workspace:
    """The live flows folder and the draft folder beside it."""

    flows_dir: Path
    drafts_dir: Path

    @property
    def draft_dir(self) -> Path:
        """The draft's own flows folder (the live flows with staff's files in place)."""
        return self.drafts_dir / "flows"

    def has_draft(self) -> bool:
        """Whether a draft is waiting."""
        return self.draft_dir.is_dir()

    def live_names(self) -> list[str]:
        """The live flow files, by name, sorted."""
        return sorted(path.name for path in self.flows_dir.glob("*.yaml"))

    def live_zip(self) -> bytes:
        """Every live flow file in one zip, as staff download it."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in self.live_names():
                archive.write(self.flows_dir / name, name)
        return buffer.getvalue()

    def live_file(self, name: str) -> bytes:
        """One live flow file; raises UploadRefused naming the files there are."""
        wanted = name if name.endswith(".yaml") else f"{name}.yaml"
        if wanted not in self.live_names():
            raise UploadRefused(f"there is no {wanted}; the files are: {', '.join(self.live_names())}")
        return (self.flows_dir / wanted).read_bytes()

    def accept(self, file_name: str, data: bytes) -> list[str]:
        """Put a sent .yaml file (or a zip of them) into the draft, starting one from the live flows if
        needed; returns the names written. Raises UploadRefused before changing anything."""
        if file_name.lower().endswith(".zip"):
            files = _unzip(data)
        else:
            files = {_yaml_name(file_name): _checked_size(file_name, data)}
        if not self.has_draft():
            self._start()
        for name, content in files.items():
            _write(self.draft_dir / name, content)
        return sorted(files)

    def start_from(self, files: list[Path]) -> None:
        """Make the draft a copy of these flow files (the live ones, or a kept version for a rollback)."""
        self.discard()
        self.draft_dir.mkdir(parents=True)
        for path in files:
            shutil.copyfile(path, self.draft_dir / path.name)

    def discard(self) -> bool:
        """Drop the draft; whether there was one."""
        if not self.has_draft():
            return False
        shutil.rmtree(self.draft_dir)
        return True

    def publish(self) -> None:
        """Make the draft's files the live ones (each replaced whole), remove live files the draft
        doesn't have, then drop the draft. The caller keeps a version first and reloads after."""
        names = {path.name for path in self.draft_dir.glob("*.yaml")}
        for name in sorted(names):
            _write(self.flows_dir / name, (self.draft_dir / name).read_bytes())
        for name in self.live_names():
            if name not in names:
                (self.flows_dir / name).unlink()
        self.discard()

    def _start(self) -> None:
        self.start_from(sorted(self.flows_dir.glob("*.yaml")))


def _yaml_name(file_name: str) -> str:
    name = PurePosixPath(file_name.replace("\\", "/")).name
    stem, dot, suffix = name.rpartition(".")
    if not dot or f".{suffix.lower()}" not in YAML_SUFFIXES or not stem or stem.startswith("."):
        raise UploadRefused(f"{name or 'that file'} is not a flows file: send .yaml files (or a .zip of them)")
    return f"{stem}.yaml"  # a .yml is taken as the .yaml of that name


def _checked_size(name: str, data: bytes) -> bytes:
    if len(data) > MAX_FILE_BYTES:
        raise UploadRefused(
            f"{name} is too big ({len(data) // 1024} KB): a flows file is at most {MAX_FILE_BYTES // 1024} KB"
        )
    return data


def _unzip(data: bytes) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise UploadRefused("that .zip can't be opened: zip the .yaml files again and send it") from None
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir() and not _is_clutter(info.filename)]
        if sum(info.file_size for info in members) > MAX_ZIP_BYTES:
            raise UploadRefused(f"that .zip is too big unpacked: at most {MAX_ZIP_BYTES // 1024 // 1024} MB of flows")
        files: dict[str, bytes] = {}
        for info in members:
            name = _yaml_name(info.filename)
            if name in files:
                raise UploadRefused(f"that .zip has {name} twice: keep one")
            files[name] = _checked_size(name, archive.read(info))
    if not files:
        raise UploadRefused("that .zip has no .yaml files in it")
    return files


def _is_clutter(name: str) -> bool:
    # What a laptop adds when zipping a folder: macOS resource forks, Finder and Windows index files.
    parts = PurePosixPath(name).parts
    return any(part == "__MACOSX" or part.startswith(".") for part in parts) or parts[-1].lower() == "thumbs.db"


def _write(path: Path, data: bytes) -> None:
    # Whole or not at all: the live reload watches this folder and must never read half a file.
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
