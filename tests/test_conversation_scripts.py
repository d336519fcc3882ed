"""Staff's conversation scripts (tests/conversations/*.yaml), each replayed against the real engine and store."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.flows import FlowSet
from bot.flows.content import load_content
from bot.flows.convtest import ScriptError, load_script, run_script
from tests.conftest import REPO, WriteFlows

SCRIPTS = sorted((REPO / "tests" / "conversations").glob("*.yaml"))


def test_there_are_enough_scripts_to_cover_the_paths() -> None:
    assert len(SCRIPTS) >= 15


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.stem)
async def test_conversation_script(path: Path, shipped_flows: FlowSet) -> None:
    failures = await run_script(load_script(path), shipped_flows)  # one set for all, as `check --conversations` does
    assert not failures, "\n".join(str(f) for f in failures)


async def test_a_wrong_script_fails_naming_the_line_and_what_the_bot_said_instead(
    write_flows: WriteFlows, tmp_path: Path
) -> None:
    script = tmp_path / "wrong.yaml"
    script.write_text(
        'steps:\n  - user: /start\n    bot: contains "Hello."\n  - press: Info\n    bot: contains "Goodbye"\n'
    )
    directory = write_flows()
    (failure,) = await run_script(load_script(script), load_content(directory, tmp_path / "locales"))
    assert str(failure) == (
        f"{script}:4: step 2: expected the bot to say something containing 'Goodbye'; it said: 'Pick one.'"
    )


async def test_pressing_a_button_that_is_not_there_says_which_buttons_were(
    write_flows: WriteFlows, tmp_path: Path
) -> None:
    script = tmp_path / "press.yaml"
    script.write_text("steps:\n  - user: /start\n  - press: Nowhere\n")
    (failure,) = await run_script(load_script(script), load_content(write_flows(), tmp_path / "locales"))
    assert "there is no button 'Nowhere'; the buttons were ['Info', 'Person']" in str(failure)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("steps: []\n", "a script needs `steps:`"),
        ("steps:\n  - usr: hi\n", ":2: unknown key `usr`"),
        ("steps:\n  - user: hi\n    press: Info\n", "needs exactly one of `user:`"),
        ("steps:\n  - user: hi\n    handoff: maybe\n", ":3: `handoff:` is `requested` or `none`"),
        ("steps:\n  - user: [unclosed\n", "wrong.yaml"),
    ],
)
def test_a_malformed_script_is_a_one_line_error_with_its_line(tmp_path: Path, text: str, message: str) -> None:
    script = tmp_path / "wrong.yaml"
    script.write_text(text)
    with pytest.raises(ScriptError, match=None) as caught:
        load_script(script)
    assert message in str(caught.value) and "\n" not in str(caught.value).strip()


def test_check_with_conversations_runs_the_scripts_and_fails_on_a_wrong_one(
    write_flows: WriteFlows, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli.main import main

    directory = write_flows()
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "good.yaml").write_text('steps:\n  - user: /start\n    bot: contains "Hello."\n')
    env = {"BOT_LOCALES": str(tmp_path / "locales")}
    assert main(["check", str(directory), "--conversations", str(scripts)], env) == 0
    assert "conversations: 1 script(s) passed." in capsys.readouterr().out
    (scripts / "bad.yaml").write_text('steps:\n  - user: /start\n    bot: contains "Bonjour"\n')
    assert main(["check", str(directory), "--conversations", str(scripts)], env) == 1
    out = capsys.readouterr().out
    assert f"{scripts / 'bad.yaml'}:2: step 1: expected the bot to say something containing 'Bonjour'" in out
    assert "1 of 2 conversation script(s) failed." in out
