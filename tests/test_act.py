"""The registry workflows, executed for real with `act` in host mode (the runner label mapped to
`-self-hosted`) against a local basic-auth server: aliases move, refusals fail the job, and only
approvers on main can promote."""

from __future__ import annotations

import json
import re
import secrets
import subprocess

import pytest
import requests

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
TRAINER, TRAINER_PASSWORD = "github-trainer", secrets.token_urlsafe(18)
PREDICTOR, PREDICTOR_PASSWORD = "github-predict", secrets.token_urlsafe(18)


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
        add_user(project, server, CI_USER, CI_PASSWORD, "ci")
        add_user(project, server, TRAINER, TRAINER_PASSWORD, "member")
        add_user(project, server, PREDICTOR, PREDICTOR_PASSWORD, "member")
        yield project, server


def add_user(project, server, name: str, password: str, role: str) -> None:
    added = subprocess.run(
        [tool("uv"), "run", "--frozen", "mlops", "server", "add-user", name, "--role", role],
        cwd=project.path, input=password + "\n", capture_output=True, text=True,
        env={**project_environment(), **server.env()}, timeout=300,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr


def act(repo, workflow: str, actor: str = APPROVER, event: str = "workflow_dispatch", ref=None,
        job=None, variables=None, inputs=None):  # fmt: skip
    """`act` in host mode on the self-hosted labels; `job` runs that job alone."""
    project, server = repo
    credentials = server.env(MLFLOW_TRACKING_USERNAME=CI_USER, MLFLOW_TRACKING_PASSWORD=CI_PASSWORD,
                             MLFLOW_TRAINER_USERNAME=TRAINER,
                             MLFLOW_TRAINER_PASSWORD=TRAINER_PASSWORD,
                             MLFLOW_PREDICT_USERNAME=PREDICTOR,
                             MLFLOW_PREDICT_PASSWORD=PREDICTOR_PASSWORD)  # fmt: skip
    secrets = []
    if ref is not None:
        payload = project.path.parent / "event.json"
        payload.write_text(json.dumps({"ref": ref}), encoding="utf-8")
        secrets += ["-e", str(payload)]
    for name, value in credentials.items():
        secrets += ["-s", f"{name}={value}"]
    for name, value in (variables or {}).items():
        secrets += ["--var", f"{name}={value}"]
    for name, value in (inputs or {}).items():
        secrets += ["--input", f"{name}={value}"]
    if job is not None:
        secrets += ["-j", job]
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


def ensure_champion(repo) -> None:
    """Run alone (-k), a test makes the champion the lifecycle test would have made."""
    if champion(repo) == "-":
        assert mlops(repo, "train").returncode == 0
        assert mlops(repo, "register-challenger").returncode == 0
        assert mlops(repo, "promote").returncode == 0


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
    decisions = decision_runs(repo)
    assert [run["data"]["tags"]["mlops.decision.verdict"] for run in decisions] == [
        "promote", "promote", "refuse"]  # fmt: skip
    assert {run["info"]["user_id"] for run in decisions} == {CI_USER}
    assert all(picture_of(repo, run).endswith(".png") for run in decisions)

    outsider = act(repo, "rollback.yml", actor=OUTSIDER)
    assert not succeeded(outsider)
    assert f"{OUTSIDER} is not in [promotion] approvers and may not roll back" in outsider.stdout
    assert champion(repo) == "2"

    rolled = act(repo, "rollback.yml")
    assert succeeded(rolled), rolled.stdout[-3000:]
    assert champion(repo) == "1"


def run_of(repo, alias: str) -> dict:
    """The run behind an alias, over MLflow's REST API (the template's tests have no MLflow)."""
    project, server = repo
    auth, api = ("admin", server.admin_password), f"{server.url}/api/2.0/mlflow"
    version = requests.get(f"{api}/registered-models/alias", auth=auth, timeout=30, params={
        "name": project.answers["registered_model_name"], "alias": alias,
    }).json()["model_version"]  # fmt: skip
    return requests.get(f"{api}/runs/get", params={"run_id": version["run_id"]}, auth=auth,
                        timeout=30).json()["run"]  # fmt: skip


def decision_runs(repo) -> list[dict]:
    """Promote's runs in the decisions experiment, oldest first, read as the admin."""
    project, server = repo
    auth, api = ("admin", server.admin_password), f"{server.url}/api/2.0/mlflow"
    name = f"{project.answers['experiment_name']}-decisions"
    experiment = requests.get(f"{api}/experiments/get-by-name", auth=auth, timeout=30,
                              params={"experiment_name": name}).json()["experiment"]  # fmt: skip
    runs = requests.post(f"{api}/runs/search", auth=auth, timeout=30, json={
        "experiment_ids": [experiment["experiment_id"]], "order_by": ["attributes.start_time ASC"],
    }).json()["runs"]  # fmt: skip
    return [
        {"info": run["info"], "data": {"tags": {t["key"]: t["value"] for t in run["data"]["tags"]}}}
        for run in runs
    ]


def picture_of(repo, run: dict) -> str:
    """The one file under the decision run's `decision/` folder."""
    _, server = repo
    where = {"run_id": run["info"]["run_id"], "path": "decision"}
    listed = requests.get(f"{server.url}/api/2.0/mlflow/artifacts/list", params=where,
                          auth=("admin", server.admin_password), timeout=30).json()  # fmt: skip
    (found,) = listed["files"]
    return found["path"]


def params(run: dict) -> dict[str, str]:
    return {p["key"]: p["value"] for p in run["data"].get("params", [])}


def test_retrain_refits_the_champions_configuration_and_registers_the_best(repo):
    ensure_champion(repo)
    crowned = run_of(repo, "champion")
    retrained = act(repo, "retrain.yml", variables={"PROMOTE_AFTER_RETRAIN": "true"})
    shown = retrained.stdout
    assert shown.count("Job succeeded") >= 2, shown[-3000:]  # retrain, register-challenger
    promoting = [line for line in shown.splitlines() if "/Registry job/mlops promote]" in line]
    assert promoting, "the team opted in: the gates are applied"
    outcome = re.compile(r"champion stays: |is now champion|already is champion: nothing to do")
    assert any(outcome.search(line) for line in promoting), shown[-3000:]
    picked = run_of(repo, "challenger")
    newest = re.search(r"run ([0-9a-f]{32}): ", shown)
    assert newest, shown[-3000:]
    server = repo[1]
    api, auth = f"{server.url}/api/2.0/mlflow", ("admin", server.admin_password)
    run = requests.get(f"{api}/runs/get", params={"run_id": newest.group(1)}, auth=auth,
                       timeout=30).json()["run"]  # fmt: skip
    assert params(run) == params(crowned), "the champion's own configuration"
    assert run["info"]["user_id"] == TRAINER, "trained as the trainer, not the CI user"
    assert picked["info"]["run_id"] == newest.group(1) or "not picked: the newest run" in shown


def test_batch_predict_scores_a_file_with_the_champion_as_the_predict_user(repo, tmp_path):
    project, server = repo
    ensure_champion(repo)
    source, output = tmp_path / "week.csv", tmp_path / "scored.csv"
    project.run(tool("uv"), "run", "--frozen", "python", "-c",
                "import sys; from sklearn.datasets import load_breast_cancer as d; "
                "d(as_frame=True).data.head(50).to_csv(sys.argv[1], index=False)", str(source),
                timeout=300)  # fmt: skip
    scored = act(repo, "batch-predict.yml", inputs={"input": source, "output": output})
    assert succeeded(scored), scored.stdout[-3000:]
    assert "50 rows scored by" in scored.stdout
    assert len(output.read_text(encoding="utf-8").splitlines()) == 51
    facts = json.loads((tmp_path / "scored.csv.model.json").read_text(encoding="utf-8"))
    assert facts["version"] == champion(repo) and facts["rows"] == 50
    auth, api = ("admin", server.admin_password), f"{server.url}/api/2.0/mlflow"
    run = requests.get(f"{api}/runs/get", params={"run_id": facts["run_id"]}, auth=auth,
                       timeout=30).json()["run"]  # fmt: skip
    assert run["info"]["user_id"] == PREDICTOR, "recorded by the predict user, not the CI user"

    relative = act(repo, "batch-predict.yml", inputs={"input": "week.csv", "output": "out.csv"})
    assert not succeeded(relative)
    assert "input and output must be absolute paths on the central PC" in relative.stdout


def test_monitor_passes_a_batch_like_training_and_fails_on_a_shifted_one(repo, tmp_path):
    project, _ = repo
    ensure_champion(repo)
    same, shifted = tmp_path / "same.csv", tmp_path / "shifted.csv"
    project.run(tool("uv"), "run", "--frozen", "python", "-c",
                "import sys; from sklearn.datasets import load_breast_cancer as d; "
                "x = d(as_frame=True).data.sample(400, random_state=1); x.to_csv(sys.argv[1], "
                "index=False); x['mean radius'] += x['mean radius'].std(); "
                "x.to_csv(sys.argv[2], index=False)", str(same), str(shifted),
                timeout=300)  # fmt: skip
    quiet = act(repo, "monitor.yml", inputs={"input": same})
    assert succeeded(quiet), quiet.stdout[-3000:]
    assert "no drift or decay beyond [monitor] in 400 rows" in quiet.stdout
    alarm = act(repo, "monitor.yml", inputs={"input": shifted})
    assert not succeeded(alarm), "drift fails the run: that is how GitHub tells the team"
    assert "drift in mean radius" in alarm.stdout


@pytest.mark.parametrize(
    "workflow",
    ["register-challenger.yml", "promote.yml", "rollback.yml", "retrain.yml", "batch-predict.yml",
     "monitor.yml"],
)  # fmt: skip
def test_registry_jobs_do_not_run_when_dispatched_from_another_branch(repo, workflow):
    result = act(repo, workflow, ref="refs/heads/feature")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "uv run --frozen mlops" not in result.stdout
