"""Generated projects take later template fixes with cruft.

The template is committed into a git repository of its own (commit A) and baked from there;
the bake records `.cruft.json` with that template and commit. A later commit (B) fixes a doc
page of the template; `cruft check` then says the project is behind, and `cruft update` brings
the fix into the project and records B.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from .bakery import TEMPLATE, tool

pytestmark = pytest.mark.slow
NOT_SHIPPED = (".git", ".venv", ".bakes", "__pycache__", ".pytest_cache", ".ruff_cache", "site")
FIX = "A fix that reached the template after this project was baked."


def git(folder: Path, *args: str) -> str:
    identity = ["-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    result = subprocess.run(["git", *identity, *args], cwd=folder, capture_output=True,
                            text=True, check=True, timeout=120)  # fmt: skip
    return result.stdout.strip()


def committed_template(folder: Path) -> str:
    shutil.copytree(TEMPLATE, folder, ignore=shutil.ignore_patterns(*NOT_SHIPPED))
    git(folder, "init", "--quiet", "--initial-branch=main")
    git(folder, "add", "-A")
    git(folder, "commit", "--quiet", "-m", "A")
    return git(folder, "rev-parse", "HEAD")


def cruft(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([tool("cruft"), *args], cwd=project, capture_output=True, text=True,
                          timeout=900)  # fmt: skip


def test_cruft_update_brings_a_later_template_fix_into_the_project(tmp_path):
    template = tmp_path / "template"
    first = committed_template(template)
    subprocess.run([tool("cookiecutter"), "--no-input", "-o", str(tmp_path / "out"), str(template)],
                   check=True, capture_output=True, timeout=600)  # fmt: skip
    project = tmp_path / "out" / "team-model"
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert (state["template"], state["commit"]) == (str(template.resolve()), first)
    assert state["context"]["cookiecutter"]["project_slug"] == "team-model"
    git(project, "init", "--quiet")
    git(project, "add", "-A")
    git(project, "commit", "--quiet", "-m", "baked")
    assert cruft(project, "check").returncode == 0

    runbooks = template / "{{cookiecutter.project_slug}}" / "docs" / "runbooks.md"
    runbooks.write_text(runbooks.read_text(encoding="utf-8") + f"\n{FIX}\n", encoding="utf-8")
    git(template, "commit", "--quiet", "-am", "B: a template fix")
    assert cruft(project, "check").returncode != 0, "the project is now behind its template"

    result = cruft(project, "update", "--skip-apply-ask", "--allow-untracked-files")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert FIX in (project / "docs" / "runbooks.md").read_text(encoding="utf-8")
    updated = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert updated["commit"] == git(template, "rev-parse", "HEAD") != first
    assert cruft(project, "check").returncode == 0
