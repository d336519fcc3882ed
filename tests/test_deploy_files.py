"""The container and the systemd unit: what they promise (own user, data in one place, hardening) is checked."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.cli.main import build_parser
from tests.conftest import REPO

UNIT = REPO / "deploy" / "signpost-bot.service"
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "PrivateTmp": "yes",
    "ProtectHome": "yes",
    "PrivateDevices": "yes",
    "RestrictNamespaces": "yes",
    "RestrictSUIDSGID": "yes",
    "CapabilityBoundingSet": "",
}


def unit_settings(text: str) -> dict[str, list[str]]:
    """`Key=value` lines of a unit file, by `Section.Key`, every value of a repeated key kept."""
    settings: dict[str, list[str]] = {}
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        settings.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return settings


def one(settings: dict[str, list[str]], key: str) -> str:
    (value,) = settings[key]
    return value


def test_the_service_runs_as_its_own_user_with_state_and_secret_apart() -> None:
    unit = unit_settings(UNIT.read_text())
    assert one(unit, "Service.User") not in ("root", "0") or one(unit, "Service.DynamicUser") == "yes"
    assert one(unit, "Service.StateDirectory") == "signpost-bot"
    assert one(unit, "Service.StateDirectoryMode") == "0700"
    name, _, source = one(unit, "Service.LoadCredential").partition(":")
    assert name == "bot-secret" and not source.startswith("/var/lib/signpost-bot")  # never beside the database
    environment = dict(value.partition("=")[::2] for value in unit["Service.Environment"])
    assert environment["BOT_SECRET_FILE"] == "%d/bot-secret"
    assert environment["BOT_HOME"] == "%S/signpost-bot" and "BOT_DB" not in environment


def test_the_service_is_hardened_restarts_on_failure_and_stops_quickly() -> None:
    unit = unit_settings(UNIT.read_text())
    for key, value in HARDENING.items():
        assert one(unit, f"Service.{key}") == value, key
    assert set(one(unit, "Service.RestrictAddressFamilies").split()) == {"AF_INET", "AF_INET6", "AF_UNIX"}
    assert one(unit, "Service.Restart") == "on-failure"
    assert one(unit, "Service.UMask") == "0077"
    stop = one(unit, "Service.TimeoutStopSec")
    assert stop.endswith("s") and int(stop[:-1]) <= 30


def test_the_services_command_is_one_the_cli_has() -> None:
    argv = shlex.split(one(unit_settings(UNIT.read_text()), "Service.ExecStart"))
    assert argv[0].endswith("/.venv/bin/python") and argv[1:3] == ["-m", "bot"]
    args = build_parser().parse_args(argv[3:])
    assert args.command == "run"


def _unit_for_this_machine(tmp_path: Path) -> Path:
    """The unit with the venv's python and this checkout in place of /opt/signpost-bot."""
    text = UNIT.read_text().replace("/opt/signpost-bot/.venv/bin/python", sys.executable)
    copy = tmp_path / "signpost-bot.service"
    copy.write_text(text.replace("WorkingDirectory=/opt/signpost-bot", f"WorkingDirectory={REPO}"))
    return copy


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    result = subprocess.run(
        ["systemd-analyze", "verify", str(_unit_for_this_machine(tmp_path))],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    complaints = [line for line in result.stderr.splitlines() if "signpost-bot.service" in line]
    assert result.returncode == 0 and not complaints, result.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_systemd_rates_the_units_exposure_as_low(tmp_path: Path) -> None:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(_unit_for_this_machine(tmp_path))],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if "--offline" in result.stderr:
        pytest.skip("this systemd-analyze has no --offline (systemd older than 250)")
    (summary,) = [line for line in result.stdout.splitlines() if "Overall exposure level" in line]
    level = float(summary.split(":")[1].split()[0])
    assert level <= 2.0, result.stdout


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_the_image_is_slim_runs_as_a_user_and_keeps_data_in_a_volume() -> None:
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    users = [value for kind, value in instructions if kind == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert ("VOLUME", '["/data"]') in instructions
    assert ("ENTRYPOINT", '["python", "-m", "bot"]') in instructions and ("CMD", '["run"]') in instructions
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {"data/", "secret", ".env", "*.backup", ".git/", ".venv/"} <= set(ignored)


def test_compose_keeps_the_database_in_a_volume_and_the_secret_out_of_it() -> None:
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    bot = compose["services"]["bot"]
    assert "data:/data" in bot["volumes"] and "data" in compose["volumes"]
    assert bot["secrets"] == ["signpost_secret"] and compose["secrets"]["signpost_secret"]["file"] == "./secret"
    assert bot["read_only"] is True and bot["cap_drop"] == ["ALL"] and "no-new-privileges:true" in bot["security_opt"]
    assert bot["restart"] == "unless-stopped" and "privileged" not in bot
    assert build_parser().parse_args(bot["command"]).command == "run"


def test_composes_healthcheck_asks_the_health_port_the_bot_serves() -> None:
    bot = yaml.safe_load((REPO / "compose.yaml").read_text())["services"]["bot"]
    args = build_parser().parse_args(bot["command"])
    assert args.health_port and args.listen == "127.0.0.1"
    probe = bot["healthcheck"]["test"]
    assert probe[:3] == ["CMD", "python", "-c"] and f"http://127.0.0.1:{args.health_port}/healthz" in probe[3]
    compile(probe[3], "healthcheck", "exec")  # the one-liner is valid Python


def test_botctl_and_the_service_keep_the_data_in_the_same_home() -> None:
    unit = unit_settings(UNIT.read_text())
    environment = dict(value.partition("=")[::2] for value in unit["Service.Environment"])
    state = environment["BOT_HOME"].replace("%S", "/var/lib")
    assert f"export BOT_HOME={state}\n" in (REPO / "deploy" / "botctl").read_text()


def _docker_engine() -> str | None:
    """Why the image can't be built here, or None when a Docker engine answers."""
    if shutil.which("docker") is None:
        return "docker is not installed here"
    try:
        probe = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except subprocess.TimeoutExpired:
        return "the Docker engine did not answer within 30 s"
    if probe.returncode != 0:
        return "only the docker client is here: no Docker engine answers"
    return None


NO_DOCKER = _docker_engine()


@pytest.mark.skipif(NO_DOCKER is not None, reason=str(NO_DOCKER))
def test_the_image_builds_and_its_cli_runs_as_a_non_root_user() -> None:
    tag = "signpost-bot:test"
    subprocess.run(["docker", "build", "-t", tag, str(REPO)], check=True, capture_output=True, timeout=900)
    user = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "id", tag, "-u"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert user.stdout.strip() != "0"
    check = subprocess.run(
        ["docker", "run", "--rm", tag, "check"], capture_output=True, text=True, check=False, timeout=120
    )
    assert check.returncode == 0, check.stdout + check.stderr


DOCS = (REPO / "README.md", REPO / "docs" / "deploy.md", REPO / "docs" / "operations.md", REPO / "docs" / "flows.md")


def documented_commands() -> list[tuple[str, str]]:
    """(file, line) for every `python -m bot …` line in the shell blocks of the README and the docs."""
    found = []
    for path in DOCS:
        in_block = False
        for line in path.read_text().splitlines():
            if line.lstrip().startswith("```"):
                in_block = line.strip() in ("```sh", "```ini") if not in_block else False
                continue
            if in_block and "python -m bot " in line:
                found.append((path.name, line.strip()))
    return found


def test_every_documented_command_runs_as_written() -> None:
    commands = documented_commands()
    assert len(commands) >= 10
    for name, line in commands:
        before, _, after = line.partition("python -m bot ")
        # On a host the venv's python is named; inside the container `python` is the image's own.
        assert before.endswith((".venv/bin/", "docker compose exec bot ")) or "ExecStart=" in before, (name, line)
        words = shlex.split(after.split("#")[0].replace("$(date +%F)", "DATE"))
        args = build_parser().parse_args(words)
        assert args.command, (name, line)


def test_the_readme_stands_alone() -> None:
    readme = (REPO / "README.md").read_text()
    assert "../shared" not in readme and "| ours | direct |" not in readme
    for target in ("docs/deploy.md", "docs/operations.md", "docs/flows.md", "docs/privacy.md", "bench/README.md"):
        assert f"]({target}" in readme, target
    assert "| ours | sustained | 1,000,000 |" in (REPO / "bench" / "README.md").read_text()


def test_a_fresh_copy_follows_the_deploy_guide_as_far_as_it_goes_without_telegram(tmp_path: Path) -> None:
    """deploy.md step 5 on a copy of the repository: `check` in the code's folder, `chat` from a home folder."""
    code, home = tmp_path / "opt" / "signpost-bot", tmp_path / "home"
    shutil.copytree(
        REPO, code, ignore=shutil.ignore_patterns(".git", "data", ".venv", "*cache*", "__pycache__", "results")
    )
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "STAFF_"))}
    env["PYTHONPATH"] = str(code)  # what `pip install -e .` in that folder does

    check = subprocess.run(
        [sys.executable, "-m", "bot", "check"],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert check.returncode == 0 and "OK:" in check.stdout, check.stdout + check.stderr

    chat = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        cwd=home,
        env=env,
        input="1\n/quit\n",
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert chat.returncode == 0, chat.stderr
    assert "What can I help with?" in chat.stdout
    assert (home / "data" / "bot.sqlite3").is_file()  # the console's own test data, in the folder it ran from
    assert not (code / "data").exists()
