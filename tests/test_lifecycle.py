"""The model lifecycle of a baked project, driven through its `mlops` command against a real
basic-auth tracking server: candidates -> challenger -> champion -> refusal -> rollback."""

from __future__ import annotations

import re

import pytest

from .bakery import tool
from .servers import running_server

pytestmark = pytest.mark.slow
ALIASES = ("champion", "challenger", "previous-champion")


@pytest.fixture(scope="module")
def project(bakery, tmp_path_factory):
    bake_ = bakery("default")
    with running_server(bake_, tmp_path_factory.mktemp("lifecycle-server")) as server:
        yield bake_, server


def mlops(project, *args, **env):
    bake_, server = project
    return bake_.run(tool("uv"), "run", "--frozen", "mlops", *args, env=server.env(**env),
                     check=False, timeout=300)  # fmt: skip


def aliases(project) -> dict[str, str]:
    bake_, server = project
    model = bake_.answers["registered_model_name"]
    return {name: server.alias(model, name) for name in ALIASES}


def test_no_runs_yet_is_bad_state(project):
    result = mlops(project, "register-challenger")
    assert result.returncode == 2
    assert "does not exist on the server" in result.stderr or "no candidate" in result.stderr


def test_no_challenger_yet_is_bad_state(project):
    result = mlops(project, "promote")
    assert result.returncode == 2
    assert "no challenger" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def train(project, c_value: str) -> None:
    result = mlops(project, "train", "--set", f"C={c_value}")
    assert result.returncode == 0, result.stderr


def test_the_whole_lifecycle(project):
    # A modest first champion (f1 ~0.957 with C=0.002 on the seeded holdout).
    train(project, "0.002")
    first = mlops(project, "register-challenger")
    assert first.returncode == 0, first.stderr
    assert "registered version 1" in first.stdout
    again = mlops(project, "register-challenger")
    assert again.returncode == 0 and "challenger already is version 1" in again.stdout
    dry = mlops(project, "register-challenger", "--dry-run")
    assert dry.returncode == 0 and "dry run: challenger would point at version 1" in dry.stdout

    dry = mlops(project, "promote", "--dry-run")
    assert dry.returncode == 0 and "would become champion" in dry.stdout
    assert aliases(project)["champion"] == "-"
    promoted = mlops(project, "promote")
    assert promoted.returncode == 0, promoted.stderr
    assert "version 1 is now champion" in promoted.stdout
    assert mlops(project, "promote").stdout.strip().endswith("already is champion: nothing to do")

    # A better challenger (f1 ~0.989) passes every gate; the old champion is kept as previous.
    train(project, "0.5")
    assert "registered version 2" in mlops(project, "register-challenger").stdout
    promoted = mlops(project, "promote")
    assert promoted.returncode == 0, promoted.stderr
    assert aliases(project) == {"champion": "2", "challenger": "2", "previous-champion": "1"}

    # A worse one (f1 ~0.973) becomes challenger only when asked for newer runs, and is refused.
    train(project, "0.05")
    assert "already is version 2" in mlops(project, "register-challenger").stdout
    worse = mlops(project, "register-challenger", "--newer-than-challenger")
    assert "registered version 3" in worse.stdout, worse.stderr
    refused = mlops(project, "promote")
    assert refused.returncode == 1
    assert "min_improvement" in refused.stderr and "FAIL" in refused.stdout
    assert len(refused.stderr.strip().splitlines()) == 1
    assert aliases(project)["champion"] == "2"

    status = mlops(project, "status")
    assert re.search(r"^champion\s+2\s", status.stdout, re.M), status.stdout

    # Production misbehaves: roll back to version 1, once.
    rolled = mlops(project, "rollback")
    assert rolled.returncode == 0 and "champion -> version 1" in rolled.stdout
    assert aliases(project) == {"champion": "1", "challenger": "3", "previous-champion": "1"}
    twice = mlops(project, "rollback")
    assert twice.returncode == 2 and "nothing to roll back to" in twice.stderr
    assert aliases(project)["champion"] == "1"
