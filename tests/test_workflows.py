"""Every rendered workflow passes the linters the generated project's own CI runs."""

from __future__ import annotations

import re
import subprocess

import pytest

from .bakery import TEMPLATE, tool
from .conftest import OPTION_SETS


def lint(args: list[str], cwd) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("option_set", OPTION_SETS)
def test_workflows_match_githubs_schema(bakery, option_set):
    bake_ = bakery(option_set)
    workflows = sorted(str(p) for p in (bake_.path / ".github" / "workflows").glob("*.yml"))
    assert workflows
    result = lint([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                   *workflows], bake_.path)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    result = lint([tool("check-jsonschema"), "--builtin-schema", "vendor.dependabot",
                   ".github/dependabot.yml"], bake_.path)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("option_set", OPTION_SETS)
def test_zizmor_finds_nothing(bakery, option_set):
    bake_ = bakery(option_set)
    result = lint([tool("zizmor"), "--offline", "--strict-collection", ".github"], bake_.path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actions_are_pinned_to_commit_shas_with_their_version(bakery):
    bake_ = bakery("default")
    for workflow in (bake_.path / ".github" / "workflows").glob("*.yml"):
        for line in workflow.read_text(encoding="utf-8").splitlines():
            if "uses:" in line and "./" not in line:
                ref = line.split("@", 1)[1]
                sha, _, comment = ref.partition(" # ")
                assert len(sha) == 40 and int(sha, 16) >= 0, line
                assert comment.startswith("v"), line


def test_the_linters_really_catch_a_bad_workflow(bakery, tmp_path):
    """Guards the two tests above: an unpinned action with a template injection must fail."""
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yml").write_text(
        "on: issues\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "      - run: echo ${{ github.event.issue.title }}\n",
        encoding="utf-8",
    )
    result = lint([tool("zizmor"), "--offline", "--strict-collection", ".github"], tmp_path)
    assert result.returncode != 0
    (workflows / "bad.yml").write_text("on: push\njobs: {x: {steps: 3}}\n", encoding="utf-8")
    result = lint([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                   str(workflows / "bad.yml")], tmp_path)  # fmt: skip
    assert result.returncode != 0


def pins(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        if "uses:" in line and "@" in line:
            action, ref = line.split("uses:", 1)[1].strip().split("@", 1)
            found[action] = ref
    return found


def test_the_template_and_the_generated_projects_pin_the_same_commits(bakery):
    ours = pins((TEMPLATE / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    theirs = {}
    for workflow in (bakery("default").path / ".github" / "workflows").glob("*.yml"):
        theirs.update(pins(workflow.read_text(encoding="utf-8")))
    shared = set(ours) & set(theirs)
    assert shared, "expected common actions"
    assert {a: ours[a] for a in shared} == {a: theirs[a] for a in shared}


def test_promoting_after_retrain_is_off_unless_the_variable_says_true(bakery):
    """The act test runs retrain.yml with the variable on; without it, no job may promote."""
    text = bakery("default").read(".github/workflows/retrain.yml")
    jobs = text.split("\njobs:\n", 1)[1]
    promoting = [block for block in re.split(r"\n(?=  \S)", jobs) if "verb: promote" in block]
    assert len(promoting) == 1
    assert "\n    if: vars.PROMOTE_AFTER_RETRAIN == 'true'\n" in promoting[0]
