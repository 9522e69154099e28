"""The generated project's own test suite passes in its own uv environment, also after the
edits its docs suggest (its own CSV, ids, another estimator and metric)."""

from __future__ import annotations

import shutil

import pytest

from .bakery import Bake, tool
from .team_edits import edit_as_the_docs_suggest

# What the generated CI runs on main: the whole suite, with its coverage floor in the edited
# default bake. The platform's tests run on a project of the bake's task, so the regression bake
# runs them all too, but for the central PC's (marked `central_pc`), which no task changes.
SELECTIONS = {"edited": ["--cov"], "regression": ["-m", "not central_pc"]}


@pytest.fixture(scope="module")
def edited(bakery, tmp_path_factory) -> Bake:
    """The default bake in a git repository of its own, as a team has made it its own."""
    source = bakery("default").path
    project = Bake(tmp_path_factory.mktemp("edited") / source.name, {})
    shutil.copytree(source, project.path, ignore=shutil.ignore_patterns(".venv", ".mlops"))
    edit_as_the_docs_suggest(project.path, "classification")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"]):
        project.run("git", *args)
    project.sync()
    return project


@pytest.mark.slow
@pytest.mark.parametrize("option_set", SELECTIONS)
def test_the_generated_tests_pass(bakery, request, option_set):
    """The edited default bake runs everything its CI runs; none of the team's edits reach the
    platform's tests, and the team's own file is tested on the team's data."""
    bake_ = request.getfixturevalue("edited") if option_set == "edited" else bakery(option_set)
    bake_.sync()
    result = bake_.run(tool("uv"), "run", "--frozen", "pytest", "-q", "-p", "no:cacheprovider",
                       *SELECTIONS[option_set], check=False, timeout=2400)  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in result.stdout and " failed" not in result.stdout


@pytest.mark.slow
def test_the_generated_pre_commit_hooks_pass_on_a_laptop_and_on_the_central_pc(edited, tmp_path):
    """What the generated CI's first job runs: every local hook, on the edited project, in a
    teammate's environment (`uv sync`), then in the central PC's (`uv sync --extra server`), each
    with the `lint` group the hooks name. The environment is a new one, apart from the suite's."""
    env = {"UV_PROJECT_ENVIRONMENT": str(tmp_path / "venv")}
    for extra in ([], ["--extra", "server"]):
        edited.run(tool("uv"), "sync", "--locked", "--quiet", *extra, timeout=900, env=env)
        result = edited.run(tool("uv"), "run", "--frozen", "--group", "lint", "pre-commit", "run",
                            "--all-files", check=False, timeout=600, env=env)  # fmt: skip
        assert result.returncode == 0, f"{extra}: {result.stdout[-4000:]}{result.stderr[-2000:]}"
        for hook in ("ruff check", "ruff format", "mypy", "deptry", "nbstripout", "zizmor",
                     "check-jsonschema"):  # fmt: skip
            assert hook in result.stdout
