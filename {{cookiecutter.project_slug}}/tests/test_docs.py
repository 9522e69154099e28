"""The README and docs/ name only what exists: every `mlops` verb and option they show is a real
command of the CLI, every `[section] key` is a real `mlops.toml` key, and every message the
troubleshooting page explains is one the commands print. A renamed verb, setting or message then
fails here instead of misleading the next reader. The site itself builds with `--strict`."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import click
import pytest

from {{ cookiecutter.package_name }}.cli import cli
from {{ cookiecutter.package_name }}.settings import Settings

from .project import PROJECT_ROOT

PAGES = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
PACKAGE_SOURCE = re.sub(  # adjacent string literals joined, as Python joins them
    r'"\s*\n\s*f?"',
    "",
    "".join(path.read_text(encoding="utf-8") for path in (PROJECT_ROOT / "src").rglob("*.py")),
)
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


@pytest.mark.parametrize(("page", "name"), mentions(re.compile(r"--set (?!NAME=)([A-Za-z_]\w*)=")))
def test_every_set_example_names_a_parameter_of_this_projects_model(page, name, platform_settings):
    """`--set C=0.5` is an error for a regression model: each example fits the baked task."""
    assert name[0] in platform_settings.model.params, f"{page}: `--set {name[0]}=...`"


def test_the_docs_name_commands_and_settings():
    """The patterns still find what the pages say (a broken regex would pass everything)."""
    assert len(mentions(COMMAND)) > 50 and len(mentions(SETTING)) > 10


def test_the_site_builds_with_strict_quietly_and_lists_every_page(tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NO_MKDOCS")}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, env=environment,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    noise = [line for line in result.stderr.splitlines() if not line.startswith("INFO")]
    assert noise == [], "a build prints nothing a reader cannot act on:\n" + "\n".join(noise)
    config = (PROJECT_ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\s+- .*?([a-z-]+\.md)$", config, re.M))
    assert listed == {page.name for page in PAGES[1:]}, "every page of docs/ is in the nav"
    assert "Quick start" in (tmp_path / "index.html").read_text(encoding="utf-8")


def our_messages() -> list[str]:
    """The first code span of each row of the troubleshooting tables, up to MLflow's own."""
    page = (PROJECT_ROOT / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    ours = page.split("## Reaching the server", 1)[1].split("## MLflow's own messages", 1)[0]
    return re.findall(r"^\| (?:``? ?)(.+?)(?: ?``?) \|", ours, re.M)


@pytest.mark.parametrize("message", our_messages())
def test_every_message_the_troubleshooting_page_explains_is_printed(message):
    """Each literal piece (between `<...>` placeholders and `...`) is in the package's code."""
    for alternative in message.split("` / `"):
        pieces = re.split(r"<[^>]*>|\.\.\.", alternative.strip("`"))
        for piece in (p.strip(" ()") for p in pieces):
            if len(piece) >= 6:
                assert piece in PACKAGE_SOURCE, f"no command prints {piece!r}"


def test_the_troubleshooting_page_lists_messages():
    assert len(our_messages()) > 25
