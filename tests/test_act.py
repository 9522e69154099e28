"""The registry workflows, executed for real with `act` in host mode (the runner label mapped to
`-self-hosted`) against a local basic-auth server: aliases move, refusals fail the job, and only
approvers on main can promote."""

from __future__ import annotations

import json
import re
import secrets
import subprocess

import pytest

from .bakery import bake, project_environment, tool
from .servers import running_server

pytestmark = pytest.mark.slow
LABEL = "mlops-box"
APPROVER, OUTSIDER = "alice-approver", "mallory-outsider"


def git(path, *args):
    subprocess.run(
        ["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci", *args],
        cwd=path, check=True, capture_output=True, timeout=60,
    )  # fmt: skip


CI_USER, CI_PASSWORD = "github-ci", secrets.token_urlsafe(18)  # made per run, never a literal


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A baked project as its own git repository on main, with an approver allow-list, and a
    CI user on the server holding only the `ci` role (READ experiment, EDIT model)."""
    project = bake(tmp_path_factory.mktemp("act"), runner_label=LABEL)
    with running_server(project, tmp_path_factory.mktemp("act-server")) as server:
        port = server.url.rsplit(":", 1)[1]
        settings = project.path / "mlops.toml"
        text = settings.read_text(encoding="utf-8")
        text = text.replace("approvers = []", f'approvers = ["{APPROVER}"]')
        text = re.sub(r"(?m)^port = \d+", f"port = {port}", text)
        settings.write_text(text, encoding="utf-8")
        git(project.path, "init", "-q", "-b", "main")
        git(project.path, "add", "-A")
        git(project.path, "commit", "-q", "-m", "baked")
        added = subprocess.run(
            [tool("uv"), "run", "--frozen", "mlops", "server", "add-user", CI_USER, "--role", "ci"],
            cwd=project.path, input=CI_PASSWORD + "\n", capture_output=True, text=True,
            env={**project_environment(), **server.env()}, timeout=300,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        yield project, server


def act(repo, workflow: str, actor: str = APPROVER, event: str = "workflow_dispatch", ref=None):
    project, server = repo
    credentials = server.env(MLFLOW_TRACKING_USERNAME=CI_USER, MLFLOW_TRACKING_PASSWORD=CI_PASSWORD)
    secrets = []
    if ref is not None:
        payload = project.path.parent / "event.json"
        payload.write_text(json.dumps({"ref": ref}), encoding="utf-8")
        secrets += ["-e", str(payload)]
    for name, value in credentials.items():
        secrets += ["-s", f"{name}={value}"]
    args = [
        tool("act"), event, "-W", f".github/workflows/{workflow}",
        "-P", "self-hosted=-self-hosted", "-P", f"{LABEL}=-self-hosted",
        "--actor", actor, *secrets,
    ]  # fmt: skip
    return subprocess.run(args, cwd=project.path, capture_output=True, text=True, timeout=600,
                          env=project_environment())  # fmt: skip


def mlops(repo, *args):
    project, server = repo
    return project.run(tool("uv"), "run", "--frozen", "mlops", *args, env=server.env(),
                       check=False, timeout=300)  # fmt: skip


def champion(repo) -> str:
    project, server = repo
    return server.alias(project.answers["registered_model_name"], "champion")


def succeeded(result) -> bool:
    return result.returncode == 0 and "Job succeeded" in result.stdout


def test_the_workflows_move_aliases_and_refuse_when_they_must(repo):
    assert mlops(repo, "train", "--set", "C=0.002").returncode == 0
    registered = act(repo, "register-challenger.yml", event="push")
    assert succeeded(registered), registered.stdout[-3000:]
    assert "registered version 1" in registered.stdout

    outsider = act(repo, "promote.yml", actor=OUTSIDER)
    assert not succeeded(outsider)
    assert f"{OUTSIDER} is not in [promotion] approvers" in outsider.stdout
    assert champion(repo) == "-"

    promoted = act(repo, "promote.yml")
    assert succeeded(promoted), promoted.stdout[-3000:]
    assert champion(repo) == "1"

    assert mlops(repo, "train", "--set", "C=0.5").returncode == 0
    assert succeeded(act(repo, "register-challenger.yml"))
    assert succeeded(act(repo, "promote.yml"))
    assert champion(repo) == "2"

    assert mlops(repo, "train", "--set", "C=0.05").returncode == 0
    assert mlops(repo, "register-challenger", "--newer-than-challenger").returncode == 0
    refused = act(repo, "promote.yml")
    assert not succeeded(refused)
    assert "gate min_improvement failed" in refused.stdout
    assert champion(repo) == "2"

    outsider = act(repo, "rollback.yml", actor=OUTSIDER)
    assert not succeeded(outsider)
    assert f"{OUTSIDER} is not in [promotion] approvers and may not roll back" in outsider.stdout
    assert champion(repo) == "2"

    rolled = act(repo, "rollback.yml")
    assert succeeded(rolled), rolled.stdout[-3000:]
    assert champion(repo) == "1"


@pytest.mark.parametrize("workflow", ["register-challenger.yml", "promote.yml", "rollback.yml"])
def test_registry_jobs_do_not_run_when_dispatched_from_another_branch(repo, workflow):
    result = act(repo, workflow, ref="refs/heads/feature")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "uv run --frozen mlops" not in result.stdout
