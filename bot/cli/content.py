"""`python -m bot check` and `python -m bot i18n`: the flows and their translations, checked and kept."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import TextIO

import bot.flows as flowspec
from bot import config
from bot.cli.common import EXIT_OK, EXIT_PROBLEMS
from bot.flows import FlowSet
from bot.flows.content import misnamed_problems
from bot.flows.convtest import load_scripts, run_scripts
from bot.flows.lint import lint, review_status
from bot.i18n import cycle as catalogs
from bot.i18n.coverage import measure
from bot.i18n.cycle import I18nError, shown_path
from bot.i18n.rule import translations
from bot.privacy.discretion import preview_problems


def cmd_check(args: argparse.Namespace, env: Mapping[str, str], out: TextIO) -> int:
    directory = args.dir or config.flows_dir(env)
    report = flowspec.check(directory, today=date.today())
    misnamed = misnamed_problems(directory)
    for problem in (*misnamed, *report.problems):
        out.write(f"{problem}\n")
    if report.flowset is None:
        out.write(
            f"{len(report.errors) + len(misnamed)} error(s), {len(report.warnings)} warning(s): the flows "
            "were NOT loaded.\n"
        )
        return EXIT_PROBLEMS
    flowset = report.flowset
    linted = lint(flowset, directory)
    for problem in linted:
        out.write(f"{problem}\n")
    locales = args.locales or config.locales_dir(env)
    rule = translations(flowset, directory, locales, strict=args.strict)
    discreet = preview_problems(flowset.with_texts(rule.texts), directory, locales)
    for problem in discreet:
        out.write(f"{problem}\n")
    coverage = measure(flowset, directory, locales)
    for problem in (*coverage.problems, *rule.problems):
        out.write(f"{problem}\n")
    warnings = len(report.warnings) + len(linted) + len(discreet) + len(coverage.warnings) + len(rule.warnings)
    languages = "".join(f"{language.summary()}\n" for language in coverage.languages)
    errors = len(coverage.errors) + len(rule.errors) + len(misnamed)
    if errors:
        out.write(languages)
        out.write(f"{errors} error(s), {warnings} warning(s): the flows or their translations are not ready.\n")
    else:
        out.write(
            f"OK: {len(flowset.flows)} flows, {len(flowset.nodes)} nodes, {len(flowset.triggers)} triggers, "
            f"{len(flowset.services)} services; {warnings} warning(s).\n"
        )
        out.write(languages)
        out.write("".join(f"{line}\n" for line in review_status(flowset)))
    # Scripts replay whatever the coverage: an untranslated text is shown in English, as to users.
    replayed = (
        EXIT_OK
        if args.conversations is None
        else check_conversations(args.conversations, flowset.with_texts(rule.texts), out)
    )
    return EXIT_PROBLEMS if errors else replayed


def check_conversations(directory: Path, flowset: FlowSet, out: TextIO) -> int:
    """Replay staff's conversation scripts; each failure names its file, line and what the bot said."""
    scripts = load_scripts(directory)
    failures = asyncio.run(run_scripts(scripts, flowset))
    for failure in failures:
        out.write(f"{failure}\n")
    failed = len({failure.path for failure in failures})
    if failed:
        out.write(f"{failed} of {len(scripts)} conversation script(s) failed.\n")
        return EXIT_PROBLEMS
    out.write(f"conversations: {len(scripts)} script(s) passed.\n")
    return EXIT_OK


def cmd_i18n(args: argparse.Namespace, env: Mapping[str, str], out: TextIO) -> int:
    flows_dir = args.flows or config.flows_dir(env)
    locales = args.locales or config.locales_dir(env)
    # Only a valid flow set is extracted, so the catalogs hold exactly the texts the bot looks up.
    flowset = flowspec.load(flows_dir, date.today())
    settings = flowset.settings
    if args.locale:
        codes: tuple[str, ...] = (catalogs.language_code(args.locale, settings),)
    elif args.action == "compile":
        codes = catalogs.present_catalogs(locales)
    else:
        codes = catalogs.languages_to_update(settings, locales)
    if args.action == "compile":
        return _i18n_compile(locales, codes, out)
    if args.action == "update" and not codes:
        raise I18nError(
            f"settings.yaml offers only `{settings.default_language}`: add codes to its `languages`, "
            "or prepare one first with --locale CODE"
        )
    template = catalogs.write_template(flows_dir, locales)
    state = "updated" if template.changed else "unchanged"
    out.write(f"{shown_path(template.path)}: {template.strings} texts from {shown_path(flows_dir)} ({state})\n")
    if args.action == "update":
        return _i18n_update(flowset, flows_dir, locales, codes, out)
    return EXIT_OK


def _i18n_update(flowset: FlowSet, flows_dir: Path, locales: Path, codes: tuple[str, ...], out: TextIO) -> int:
    written_by_code = {code: catalogs.update_catalog(locales, code) for code in codes}
    coverage = {language.code: language for language in measure(flowset, flows_dir, locales).languages}
    done = True
    for code, written in written_by_code.items():
        state = "new" if written.created else "updated" if written.changed else "unchanged"
        language = coverage[code]
        done = done and not (language.missing or language.fuzzy or language.triggers_without_keywords)
        out.write(f"{shown_path(written.path)} ({state}) {language.summary()}\n")
    if done:
        out.write("Every catalog is complete; `python -m bot check` confirms it.\n")
    else:
        out.write("Next: translate the empty and fuzzy entries in those files, then run `python -m bot check`.\n")
    return EXIT_OK


def _i18n_compile(locales: Path, codes: tuple[str, ...], out: TextIO) -> int:
    if not codes:
        raise I18nError(f"no catalogs in {shown_path(locales)}: run `python -m bot i18n update` first")
    for code in codes:
        written = catalogs.compile_catalog(locales, code)
        out.write(f"{code}: wrote {shown_path(written.path)}\n")
    return EXIT_OK
