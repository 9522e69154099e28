"""Generated projects take later template fixes with cruft.

The template is committed into a git repository of its own (commit A) and baked from there;
the bake records `.cruft.json` with that template and commit. A later commit (B) fixes a doc
page of the template; `cruft check` then says the project is behind, and `cruft update` brings
the fix into the project and records B. The same holds across the move of the flat package into
rooms (`ml/`, `tracking/`, ...): a project baked from the last flat release, with an edit of its
own in a file that moved, updates cleanly and keeps the edit in the file's new home.
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


PREVIOUS_RELEASE = "da1524a48d5f50775ee4eca90b5e9a90cbd5e191"
"""The last release with a flat package (0.2.0, `main` before the rooms)."""
TEAM_EDIT = ("MIN_CATEGORY_ROWS = 5\n", "MIN_CATEGORY_ROWS = 3  # the team's own choice\n")


def committed_template(folder: Path, source: Path = TEMPLATE) -> str:
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns(*NOT_SHIPPED), dirs_exist_ok=True)
    git(folder, "init", "--quiet", "--initial-branch=main")
    git(folder, "add", "-A")
    git(folder, "commit", "--quiet", "-m", "A")
    return git(folder, "rev-parse", "HEAD")


def bake(template: Path, out: Path) -> Path:
    subprocess.run([tool("cookiecutter"), "--no-input", "-o", str(out), str(template)],
                   check=True, capture_output=True, timeout=600)  # fmt: skip
    project = out / "team-model"
    git(project, "init", "--quiet")
    git(project, "add", "-A")
    git(project, "commit", "--quiet", "-m", "baked")
    return project


def release(folder: Path, commit: str) -> None:
    """The template as it was at `commit`, from this repository's own history."""
    folder.mkdir()
    archive = subprocess.run(["git", "-C", str(TEMPLATE), "archive", commit],
                             capture_output=True, check=True, timeout=120)  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)


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


def test_cruft_update_across_the_rooms_move_keeps_the_teams_edit(tmp_path):
    found = subprocess.run(["git", "-C", str(TEMPLATE), "cat-file", "-e", PREVIOUS_RELEASE],
                           capture_output=True)  # fmt: skip
    if found.returncode != 0:
        pytest.skip("needs the template's history: a shallow clone has no previous release")
    old, template = tmp_path / "old", tmp_path / "template"
    release(old, PREVIOUS_RELEASE)
    committed_template(template, source=old)
    project = bake(template, tmp_path / "out")
    flat = project / "src" / "team_model" / "features.py"
    flat.write_text(flat.read_text(encoding="utf-8").replace(*TEAM_EDIT), encoding="utf-8")
    git(project, "commit", "--quiet", "-am", "the team's own edit of a file that moves")

    shutil.rmtree(old)
    git(template, "rm", "-r", "--quiet", ".")
    shutil.copytree(TEMPLATE, template, ignore=shutil.ignore_patterns(*NOT_SHIPPED),
                    dirs_exist_ok=True)  # fmt: skip
    git(template, "add", "-A")
    git(template, "commit", "--quiet", "-m", "B: the rooms")
    # 0.2.0's bakes rendered ruff's cache, so its cruft diff would delete files git never
    # tracked and fall back to *.rej: the release note's one step before this update
    shutil.rmtree(project / ".ruff_cache")
    result = cruft(project, "update", "--skip-apply-ask", "--allow-untracked-files")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]

    moved = project / "src" / "team_model" / "ml" / "features.py"
    text = moved.read_text(encoding="utf-8")
    assert TEAM_EDIT[1] in text, "the edit followed its file"
    assert "from ..settings import" in text, "and the template's change to it merged"
    assert not flat.exists() and not list(project.rglob("*.rej"))
    fresh = bake(template, tmp_path / "fresh")
    assert python_files(project) == python_files(fresh), "no flat module is left behind"
    assert "ruff_cache" not in git(project, "status", "--short")
    assert cruft(project, "check").returncode == 0


def python_files(project: Path) -> set[str]:
    return {p.relative_to(project).as_posix() for p in (project / "src").rglob("*.py")}
