"""The draft workspace, its check and summary, and kept versions, without Telegram."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml

from bot.engine import Command, start_state, step
from bot.flows.content import load_content
from bot.publishing.review import review
from bot.publishing.summary import compare
from bot.publishing.trying import with_banner
from bot.publishing.versions import NoSuchVersion, Versions
from bot.publishing.workspace import MAX_FILE_BYTES, UploadRefused, Workspace
from tests.conftest import INFO, MAIN, REPO, SERVICES, WriteFlows

TODAY = date(2026, 12, 4)
NOW = datetime(2026, 12, 4, 10, 30, tzinfo=UTC)


def workspace(directory: Path) -> Workspace:
    return Workspace(directory, directory.parent / "drafts")


def zipped(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


# -- the summary of what a draft changes ---------------------------------------------------------


def test_the_summary_names_steps_added_removed_and_changed(write_flows: WriteFlows, tmp_path: Path) -> None:
    live = load_content(write_flows(), tmp_path)
    edited = INFO.replace("say: Go to a clinic.", "say: Go to a sexual health clinic.").replace(
        "  clinic:\n", "  pharmacy:\n    say: Ask a pharmacist.\n    next: main.menu\n  clinic:\n"
    )
    draft = load_content(write_flows(info_yaml=edited), tmp_path)
    changes = compare(live, draft)
    assert changes.added == ("info.pharmacy",) and changes.changed == ("info.clinic",) and not changes.removed
    assert changes.kinds() == [("added", "info.pharmacy"), ("changed", "info.clinic")]
    assert compare(draft, live).removed == ("info.pharmacy",)  # publishing the live flows over it again


def test_moving_text_around_in_a_file_is_no_change(write_flows: WriteFlows, tmp_path: Path) -> None:
    live = load_content(write_flows(), tmp_path)
    draft = load_content(write_flows(info_yaml="# a comment on top\n\n" + INFO), tmp_path)
    assert compare(live, draft).empty


def test_the_summary_names_services_changed_and_other_edits(write_flows: WriteFlows, tmp_path: Path) -> None:
    live = load_content(write_flows(), tmp_path)
    services = SERVICES.replace("for: Tests.", "for: Tests and advice.")
    triggers = "triggers:\n  - id: help\n    priority: 10\n    do: handoff\n    keywords:\n      en: [person, human]\n"
    draft = load_content(write_flows(services_yaml=services, triggers_yaml=triggers), tmp_path)
    changes = compare(live, draft)
    assert changes.services_changed == ("clinic",) and changes.other_changed == ("triggers",)
    assert not changes.added and not changes.changed


def test_a_long_list_of_ids_is_cut_with_a_count() -> None:
    from bot.publishing.summary import Changes

    ids = tuple(f"flow.step{i:02}" for i in range(15))
    assert Changes(added=ids).kinds() == [("added", ", ".join(ids[:12]) + " and 3 more")]


# -- the draft's check ----------------------------------------------------------------------------


def test_a_draft_error_is_named_by_file_and_line_as_check_says_it(write_flows: WriteFlows, tmp_path: Path) -> None:
    broken = write_flows(info_yaml=INFO.replace("goto: clinic}", "goto: clinik}"))
    result = review(broken, tmp_path, TODAY)
    assert result.flows is None
    assert result.errors == (
        "info.yaml:7: info.menu: `goto: clinik` leads nowhere — write `flow.node`, or a node of this flow; "
        "did you mean `clinic`?",
    )


def test_a_sound_draft_comes_with_its_translation_coverage(tmp_path: Path) -> None:
    result = review(REPO / "flows", REPO / "locales", TODAY)
    assert result.flows is not None and not result.errors
    assert {language.code for language in result.coverage} >= {"ro", "pl", "zh_Hans"}
    assert all(language.percent == 100 for language in result.coverage)


# -- the workspace --------------------------------------------------------------------------------


def test_a_sent_file_replaces_only_that_file_in_a_copy_of_the_live_flows(write_flows: WriteFlows) -> None:
    directory = write_flows()
    space = workspace(directory)
    assert space.accept("main.yml", MAIN.replace("Hello.", "Hi.").encode()) == ["main.yaml"]  # .yml is read as .yaml
    assert (space.draft_dir / "main.yaml").read_text() == MAIN.replace("Hello.", "Hi.")
    assert (space.draft_dir / "info.yaml").read_text() == INFO
    assert (directory / "main.yaml").read_text() == MAIN  # live untouched until publish
    assert sorted(p.name for p in space.draft_dir.iterdir()) == space.live_names()


def test_a_zip_from_a_laptop_is_read_without_its_folder_and_clutter(write_flows: WriteFlows) -> None:
    space = workspace(write_flows())
    data = zipped(
        {"flows/main.yaml": MAIN, "flows/info.yaml": INFO, "__MACOSX/flows/._main.yaml": "x", "flows/.DS_Store": ""}
    )
    assert space.accept("flows.zip", data) == ["info.yaml", "main.yaml"]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("notes.pdf", b"%PDF", "notes.pdf is not a flows file: send .yaml files (or a .zip of them)"),
        ("main.yaml", b"#" * (MAX_FILE_BYTES + 1), "main.yaml is too big (512 KB): a flows file is at most 512 KB"),
        ("flows.zip", b"not a zip", "that .zip can't be opened: zip the .yaml files again and send it"),
        (
            "flows.zip",
            zipped({"readme.txt": "hi"}),
            "readme.txt is not a flows file: send .yaml files (or a .zip of them)",
        ),
        ("flows.zip", zipped({"a/main.yaml": MAIN, "b/main.yaml": MAIN}), "that .zip has main.yaml twice: keep one"),
    ],
)
def test_a_file_the_draft_will_not_take_is_refused_in_one_line_before_anything_changes(
    write_flows: WriteFlows, name: str, data: bytes, reason: str
) -> None:
    space = workspace(write_flows())
    with pytest.raises(UploadRefused) as refused:
        space.accept(name, data)
    assert str(refused.value) == reason and "\n" not in reason
    assert not space.has_draft()


def test_publishing_a_draft_replaces_the_live_files_and_drops_the_draft(write_flows: WriteFlows) -> None:
    directory = write_flows()
    space = workspace(directory)
    space.accept("main.yaml", MAIN.replace("Hello.", "Hi.").encode())
    (space.draft_dir / "exit.yaml").unlink()  # a file the draft no longer has goes from the live flows too
    space.publish()
    assert "Hi." in (directory / "main.yaml").read_text()
    assert not (directory / "exit.yaml").exists() and not space.has_draft()
    assert not list(directory.glob(".*.tmp"))


def test_a_live_file_is_found_by_name_with_or_without_yaml(write_flows: WriteFlows) -> None:
    space = workspace(write_flows())
    assert space.live_file("main") == space.live_file("main.yaml") == MAIN.encode()
    with pytest.raises(UploadRefused, match=re.escape("there is no nope.yaml; the files are: exit.yaml, info.yaml")):
        space.live_file("nope")


# -- versions -------------------------------------------------------------------------------------


def test_each_publish_keeps_the_live_files_with_who_when_and_what(write_flows: WriteFlows) -> None:
    directory = write_flows()
    versions = Versions(directory)
    assert versions.keep("Sam", NOW, "changed: main.welcome") == 1
    (directory / "main.yaml").write_text(MAIN.replace("Hello.", "Hi."))
    assert versions.keep("Ana", NOW, "rollback to version 1") == 2
    assert [v.number for v in versions.latest()] == [2, 1]
    first = versions.get(1)
    assert (first.published_by, first.when, first.summary) == (
        "Sam",
        "2026-12-04T10:30:00+00:00",
        "changed: main.welcome",
    )
    assert [p.name for p in versions.files(1)] == sorted(p.name for p in directory.glob("*.yaml"))
    assert (directory / ".versions" / "1" / "main.yaml").read_text() == MAIN
    assert yaml.safe_load((directory / ".versions" / "2" / "meta.yaml").read_text())["published_by"] == "Ana"


def test_the_kept_versions_are_not_read_as_flows(write_flows: WriteFlows, tmp_path: Path) -> None:
    directory = write_flows()
    Versions(directory).keep("Sam", NOW, "")
    (directory / ".versions" / "1" / "main.yaml").write_text("broken: [")
    assert load_content(directory, tmp_path).nodes  # the loader reads flows/*.yaml only


def test_an_unknown_version_is_refused(write_flows: WriteFlows) -> None:
    with pytest.raises(NoSuchVersion, match="there is no version 3"):
        Versions(write_flows()).files(3)
    assert Versions(write_flows()).latest() == []


# -- the banner ------------------------------------------------------------------------------------


def test_each_message_of_a_draft_starts_with_the_banner_in_the_users_language() -> None:
    flows = load_content(REPO / "flows", REPO / "locales")
    outcome = step(flows, start_state(flows, "ro"), Command("start"), NOW)
    bannered = with_banner(outcome, flows)
    banner = flows.texts.get("ro", flows.messages["draft_banner"])
    assert banner != flows.messages["draft_banner"]
    assert [part.split("\n", 1) for part in bannered.reply.parts] == [[banner, part] for part in outcome.reply.parts]
