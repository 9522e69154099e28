"""The README and docs/ name only what exists: every `mlops` verb and option they show is a real
command of the CLI, and every `[section] key` is a real `mlops.toml` key. A renamed verb or
setting then fails here instead of misleading the next reader."""

from __future__ import annotations

import re

import click
import pytest

from {{ cookiecutter.package_name }}.cli import cli
from {{ cookiecutter.package_name }}.settings import Settings

from .project import PROJECT_ROOT

PAGES = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
COMMAND = re.compile(r"mlops ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)?)((?: --[a-z][a-z-]*)*)")
SETTING = re.compile(r"\[([a-z]+)\] ([a-z_]+)\b")


def mentions(pattern: re.Pattern) -> list[tuple[str, tuple[str, ...]]]:
    return [
        (page.name, found.groups())
        for page in PAGES
        for found in pattern.finditer(page.read_text(encoding="utf-8"))
    ]


def command(words: str) -> click.Command | None:
    """The CLI command these words name (`server add-user`), or None; trailing prose ignored."""
    first, _, rest = words.partition(" ")
    found = cli.commands.get(first)
    if isinstance(found, click.Group) and rest:
        return found.commands.get(rest)
    return found


@pytest.mark.parametrize(("page", "found"), mentions(COMMAND), ids=lambda v: str(v))
def test_every_command_the_docs_show_exists(page, found):
    words, options = found
    named = command(words)
    assert named is not None, f"{page}: `mlops {words}` is not a command"
    known = {opt for param in named.params for opt in getattr(param, "opts", [])}
    for option in options.split():
        assert option in known, f"{page}: `mlops {words} {option}` is not an option"


@pytest.mark.parametrize(("page", "found"), mentions(SETTING), ids=lambda v: str(v))
def test_every_setting_the_docs_name_exists(page, found):
    section, key = found
    assert section in Settings.model_fields, f"{page}: no [{section}] section"
    fields = Settings.model_fields[section].annotation.model_fields
    assert key in fields, f"{page}: [{section}] has no key {key!r}"


def test_the_docs_name_commands_and_settings():
    """The patterns still find what the pages say (a broken regex would pass everything)."""
    assert len(mentions(COMMAND)) > 50 and len(mentions(SETTING)) > 10
