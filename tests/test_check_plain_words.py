"""`check` in words staff can act on: tabs, colons, encodings, file names, script errors, graphs for GitHub."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main as cli
from bot.flows import FlowError
from bot.flows.content import load_content
from bot.flows.convtest import ScriptError, load_script, load_scripts, run_script
from tests.conftest import MAIN, WriteFlows
from tests.test_graph import parse


def check(directory: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], *more: str) -> tuple[int, str]:
    code = cli.main(["check", str(directory), *more], {"BOT_LOCALES": str(tmp_path / "no-locales")})
    return code, capsys.readouterr().out


def test_a_tab_says_use_spaces_on_its_line(
    write_flows: WriteFlows, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_flows(main_yaml=MAIN.replace("  menu:\n    say: Menu.", "  menu:\n\tsay: Menu."))
    code, out = check(directory, tmp_path, capsys)
    assert code == 1 and f"{directory}/main.yaml:10: invalid YAML at column 1: a tab: use spaces" in out


def test_an_unquoted_colon_says_to_put_the_text_in_quotes(
    write_flows: WriteFlows, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_flows(main_yaml=MAIN.replace("say: Menu.", "say: Note: this is the menu."))
    code, out = check(directory, tmp_path, capsys)
    assert code == 1
    assert (
        f"{directory}/main.yaml:10: invalid YAML at column 14: a colon followed by a space inside a text: "
        'put the whole text in quotes, like say: "Note: this is the menu."'
    ) in out


def test_a_colon_in_a_button_label_says_to_put_the_label_in_quotes(
    write_flows: WriteFlows, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_flows(
        main_yaml=MAIN.replace('{label: "Info", goto: info.menu}', "{label: Info: more, goto: info.menu}", 1)
    )
    code, out = check(directory, tmp_path, capsys)
    assert code == 1 and f"{directory}/main.yaml:7: " in out and "has a colon: put that text in quotes" in out


def test_a_file_that_is_not_utf8_says_so_and_which_line(
    write_flows: WriteFlows, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_flows()
    (directory / "main.yaml").write_bytes(MAIN.replace("say: Menu.", "say: Menú.").encode("latin-1"))
    code, out = check(directory, tmp_path, capsys)
    assert code == 1
    assert (
        f"{directory}/main.yaml:10: invalid YAML at column 13: the file is not UTF-8 text (byte 0xfa on this line)"
        in out
    )
    assert "save it as UTF-8" in out


def test_a_yml_flow_file_is_refused_with_a_reason_not_ignored(
    write_flows: WriteFlows, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_flows()
    (directory / "extra.yml").write_text("flow: extra\nstart: a\nnodes:\n  a:\n    say: Hi.\n", encoding="utf-8")
    code, out = check(directory, tmp_path, capsys)
    assert code == 1
    assert (
        f"{directory}/extra.yml:0: extra.yml is not read: the bot reads only files whose names end in .yaml — rename it to extra.yaml"
        in out
    )
    with pytest.raises(FlowError, match=r"rename it to extra\.yaml"):
        load_content(directory, tmp_path / "no-locales")


def test_a_yaml_error_in_a_conversation_script_names_file_and_line(tmp_path: Path) -> None:
    script = tmp_path / "broken.yaml"
    script.write_text("steps:\n  - user: hi\n    bot: contains: Hello\n", encoding="utf-8")
    with pytest.raises(ScriptError) as caught:
        load_script(script)
    assert str(caught.value).startswith(
        f"{script}:3: invalid YAML at column 18: a colon followed by a space inside a text"
    )


def test_a_yml_conversation_script_is_read(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("steps:\n  - user: hi\n", encoding="utf-8")
    (tmp_path / "b.yml").write_text("steps:\n  - user: hello\n", encoding="utf-8")
    assert [script.path.name for script in load_scripts(tmp_path)] == ["a.yaml", "b.yml"]


def test_two_bot_lines_in_one_step_are_both_checked(write_flows: WriteFlows, tmp_path: Path) -> None:
    script = tmp_path / "two.yaml"
    script.write_text(
        'steps:\n  - user: /start\n    bot: contains "Hello."\n    bot: contains "Goodbye"\n', encoding="utf-8"
    )
    loaded = load_script(script)
    assert loaded.steps[0].says == ("Hello.", "Goodbye")
    (failure,) = asyncio.run(run_script(loaded, load_content(write_flows(), tmp_path / "no-locales")))
    assert "containing 'Goodbye'" in str(failure)


def test_two_user_lines_in_one_step_are_an_error_saying_to_make_a_new_step(tmp_path: Path) -> None:
    script = tmp_path / "two.yaml"
    script.write_text("steps:\n  - user: hi\n    user: hello\n", encoding="utf-8")
    with pytest.raises(ScriptError, match=r"two.yaml:3: step 1 has two `user:` lines — keep one, or start a new step"):
        load_script(script)


def test_graph_out_markdown_writes_a_mermaid_block_github_draws(write_flows: WriteFlows, tmp_path: Path) -> None:
    out = tmp_path / "flows.md"
    assert cli.main(["graph", "--flows", str(write_flows()), "--out", str(out)], {"BOT_LOCALES": str(tmp_path)}) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("```mermaid\nflowchart") and text.endswith("\n```\n")
    assert ("n_main__welcome", "-->", "Info", "n_info__menu") in parse(
        text.removeprefix("```mermaid\n").removesuffix("```\n")
    ).edges
