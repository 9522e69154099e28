"""The generated project's own test suite passes in its own uv environment."""

from __future__ import annotations

import shutil

import pytest

from .bakery import Bake, tool

# What the generated CI runs: the whole suite with its coverage floor, and the pull request's
# quick check. The central PC's tests do not depend on the task: the regression bake skips them.
SELECTIONS = {"default": ["--cov"], "regression": ["-m", "not central_pc"]}


@pytest.mark.slow
@pytest.mark.parametrize("option_set", SELECTIONS)
def test_the_generated_tests_pass(bakery, option_set):
    bake_ = bakery(option_set)
    bake_.sync()
    result = bake_.run(tool("uv"), "run", "--frozen", "pytest", "-q", "-p", "no:cacheprovider",
                       *SELECTIONS[option_set], check=False, timeout=1800)  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in result.stdout and " failed" not in result.stdout


@pytest.mark.slow
def test_the_generated_pre_commit_hooks_pass(bakery, tmp_path):
    """What the generated CI's first job runs: every local hook, on a fresh git repository."""
    source = bakery("default").path
    project = Bake(tmp_path / source.name, {})
    shutil.copytree(source, project.path, ignore=shutil.ignore_patterns(".venv", ".mlops"))
    for args in (["init", "-q", "-b", "main"], ["add", "-A"]):
        project.run("git", *args)
    project.sync()
    result = project.run(tool("uv"), "run", "--frozen", "pre-commit", "run", "--all-files",
                         check=False, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    for hook in ("ruff check", "ruff format", "mypy", "deptry", "nbstripout", "zizmor",
                 "check-jsonschema"):  # fmt: skip
        assert hook in result.stdout
