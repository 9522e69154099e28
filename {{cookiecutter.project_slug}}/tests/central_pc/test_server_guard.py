"""The server's own rules (`server_guard`): the endpoint-by-role matrix of `docs/security.md`
sent to a real server, failed-login back-off over real HTTP, and the pieces the decision uses."""

from __future__ import annotations

import base64
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore

from {{ cookiecutter.package_name }}.central_pc import guard_logins
from {{ cookiecutter.package_name }}.central_pc.guard_logins import (
    Backoff,
    Logins,
    PasswordCheck,
    VerifiedLogins,
    client_address,
)
from {{ cookiecutter.package_name }}.central_pc.server_guard import Gatekeeper, basic_credentials, is_team_path
from {{ cookiecutter.package_name }}.central_pc.tracking_server import LocalServer, ServerPaths, prepare
from {{ cookiecutter.package_name }}.process import free_port
from {{ cookiecutter.package_name }}.settings import ServerSettings
from {{ cookiecutter.package_name }}.tracking.mlflow_environment import environment

from ..central_pc_fixtures import PASSWORD, new_user, on_server, unique
from ..project import PROJECT_ROOT

ROLES = ("none", "wrong password", "reader", "member", "ci", "admin")
DENIED = {401, 403, 429}
GET_RUN = 'query { mlflowGetRun(input: {runId: "RUN_ID"}) { run { info { status } } } }'


def documented_matrix() -> dict[str, dict[str, bool]]:
    """`docs/security.md`'s table: request cell -> role -> allowed."""
    text = (PROJECT_ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    section = text.split("## Who reaches what", 1)[1].split("\n### ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == len(ROLES) + 1 and cells[0].startswith("`"):
            rows[cells[0]] = dict(zip(ROLES, (cell == "yes" for cell in cells[1:]), strict=True))
    return rows


@dataclass
class Team:
    """Everything the requests name: the test's experiment, run, model and users."""

    url: str
    artifacts: Path
    experiment_id: str
    run_id: str
    run_file: str
    run_artifacts: str
    model: str
    users: dict[str, tuple[str, str] | None]
    admin: ClientAs
    own_run: str  # the member's own run
    teammate_run: str  # another member's run
    frozen_run: str  # the member's own run, with a registered version
    decisions_id: str  # the experiment promote logs its decisions to

    def new_file(self, run_id: str) -> str:
        return f"{self.experiment_id}/{run_id}/artifacts/new-{uuid.uuid4().hex}.txt"

    def model_for(self, role: str) -> str:
        """Destructive requests by the admin hit a throw-away model with a version and alias."""
        if role != "admin":
            return self.model
        scratch = unique("scratch")
        self.admin.create_registered_model(scratch)
        source = f"{self.run_artifacts}/model"
        version = self.admin.create_model_version(scratch, source, self.run_id)
        self.admin.set_registered_model_alias(scratch, "old", version.version)
        return scratch

    def experiment_for(self, role: str) -> str:
        """The admin renames a throw-away experiment."""
        if role != "admin":
            return self.experiment_id
        return self.admin.create_experiment(unique("scratch"))

    def settled_file(self) -> str:
        """An artifact of the run uploaded more than ten minutes ago."""
        relative = f"{self.experiment_id}/{self.run_id}/artifacts/settled-{uuid.uuid4().hex}.txt"
        path = self.artifacts / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("judged bytes", encoding="utf-8")
        old = time.time() - 3600
        os.utime(path, (old, old))
        return relative


def request_for(cell: str, team: Team, role: str) -> dict:
    """The concrete HTTP request of a row of the table, as `requests.request` keywords."""
    api, artifacts = "/api/2.0/mlflow", "/api/2.0/mlflow-artifacts/artifacts"
    model = team.model
    param = {"params": [{"key": unique("p"), "value": "1"}]}
    requests_by_cell = {
        "`GET /health`": lambda: ("GET", "/health", {}),
        "`GET /` (the UI)": lambda: ("GET", "/", {}),
        f"`GET {api}/experiments/get`": lambda: (
            "GET", f"{api}/experiments/get", {"params": {"experiment_id": team.experiment_id}}
        ),
        f"`POST {api}/runs/create`": lambda: (
            "POST", f"{api}/runs/create", {"json": {"experiment_id": team.experiment_id}}
        ),
        f"`POST {api}/runs/create` (in the decisions experiment)": lambda: (
            "POST", f"{api}/runs/create", {"json": {"experiment_id": team.decisions_id}}
        ),
        "`POST /ajax-api/2.0/mlflow/runs/search`": lambda: (
            "POST", "/ajax-api/2.0/mlflow/runs/search",
            {"json": {"experiment_ids": [team.experiment_id]}},
        ),
        "`POST /graphql` (a run)": lambda: (
            "POST", "/graphql",
            {"json": {"query": GET_RUN.replace("RUN_ID", team.run_id)}},
        ),
        f"`GET {artifacts}/<a run's file>`": lambda: (
            "GET", f"{artifacts}/{team.run_file}", {}
        ),
        f"`GET {artifacts}?path=<a run's folder>`": lambda: (
            "GET", artifacts, {"params": {"path": team.run_file.rsplit("/", 1)[0]}}
        ),
        f"`PUT {artifacts}/<a new file in their own run>`": lambda: (
            "PUT", f"{artifacts}/{team.new_file(team.own_run)}", {"data": b"new"}
        ),
        f"`PUT {artifacts}/<a new file in a teammate's run>`": lambda: (
            "PUT", f"{artifacts}/{team.new_file(team.teammate_run)}", {"data": b"new"}
        ),
        f"`PUT {artifacts}/<a new file in their own registered run>`": lambda: (
            "PUT", f"{artifacts}/{team.new_file(team.frozen_run)}", {"data": b"new"}
        ),
        f"`POST {api}/runs/log-batch` (their own run)": lambda: (
            "POST", f"{api}/runs/log-batch", {"json": {"run_id": team.own_run, **param}}
        ),
        f"`POST {api}/runs/log-batch` (a teammate's run, as `runId`)": lambda: (
            "POST", f"{api}/runs/log-batch", {"json": {"runId": team.teammate_run, **param}}
        ),
        f"`POST {api}/logged-models` (from a teammate's run)": lambda: (
            "POST", f"{api}/logged-models",
            {"json": {"experiment_id": team.experiment_id, "source_run_id": team.teammate_run}},
        ),
        f"`PUT {artifacts}/<a file older than 10 min>`": lambda: (
            "PUT", f"{artifacts}/{team.settled_file()}", {"data": b"swapped bytes"}
        ),
        f"`DELETE {artifacts}/<a file>`": lambda: (
            "DELETE", f"{artifacts}/{team.settled_file()}", {}
        ),
        f"`GET {api}/registered-models/get`": lambda: (
            "GET", f"{api}/registered-models/get", {"params": {"name": model}}
        ),
        f"`POST {api}/registered-models/alias`": lambda: (
            "POST", f"{api}/registered-models/alias",
            {"json": {"name": model, "alias": "challenger", "version": "1"}},
        ),
        f"`DELETE {api}/registered-models/alias`": lambda: (
            "DELETE", f"{api}/registered-models/alias",
            {"json": {"name": team.model_for(role), "alias": "old"}},
        ),
        f"`POST {api}/experiments/update` (rename)": lambda: (
            "POST", f"{api}/experiments/update",
            {"json": {"experiment_id": team.experiment_for(role), "new_name": unique("renamed")}},
        ),
        f"`POST {api}/registered-models/rename`": lambda: (
            "POST", f"{api}/registered-models/rename",
            {"json": {"name": team.model_for(role), "new_name": unique("renamed")}},
        ),
        f"`DELETE {api}/registered-models/delete`": lambda: (
            "DELETE", f"{api}/registered-models/delete", {"json": {"name": team.model_for(role)}}
        ),
        f"`DELETE {api}/model-versions/delete`": lambda: (
            "DELETE", f"{api}/model-versions/delete",
            {"json": {"name": team.model_for(role), "version": "1"}},
        ),
        "`POST /api/3.0/mlflow/users/permissions/grant`": lambda: (
            "POST", "/api/3.0/mlflow/users/permissions/grant",
            {"json": {"username": team.users["reader"][0], "resource_type": "registered_model",
                      "resource_id": model, "permission": "MANAGE"}},
        ),
        f"`GET {api}/users/list`": lambda: ("GET", f"{api}/users/list", {}),
        f"`GET {api}/users/get`": lambda: (
            "GET", f"{api}/users/get", {"params": {"username": "admin"}}
        ),
        f"`GET {api}/users/current`": lambda: ("GET", f"{api}/users/current", {}),
        "`GET /api/3.0/mlflow/users/permissions/get` (their own)": lambda: (
            "GET", "/api/3.0/mlflow/users/permissions/get",
            {"params": {"username": (team.users[role] or ("nobody",))[0],
                        "resource_type": "experiment", "resource_id": team.experiment_id}},
        ),
        "`GET /api/3.0/mlflow/users/permissions/get` (another user's)": lambda: (
            "GET", "/api/3.0/mlflow/users/permissions/get",
            {"params": {"username": team.users["member"][0] if role != "member"
                        else team.users["reader"][0],
                        "resource_type": "experiment", "resource_id": team.experiment_id}},
        ),
        "`POST /api/3.0/mlflow/gateway/secrets/create` (AI gateway)": lambda: (
            "POST", "/api/3.0/mlflow/gateway/secrets/create",
            {"json": {"secret_name": unique("key"), "secret_value": {"api_key": "placeholder"},
                      "provider": "openai"}},
        ),
        "`GET /gateway/mlflow/v1/models` (AI gateway)": lambda: (
            "GET", "/gateway/mlflow/v1/models", {}
        ),
        "`GET /api/3.0/mlflow/mcp-servers` (MCP)": lambda: (
            "GET", "/api/3.0/mlflow/mcp-servers", {}
        ),
        "`POST /ajax-api/3.0/jobs/search` (jobs)": lambda: (
            "POST", "/ajax-api/3.0/jobs/search", {"json": {}}
        ),
        "`POST /api/3.0/mlflow/traces/search` (GenAI traces)": lambda: (
            "POST", "/api/3.0/mlflow/traces/search",
            {"json": {"locations": [{
                "type": "MLFLOW_EXPERIMENT",
                "mlflow_experiment": {"experiment_id": team.experiment_id},
            }]}},
        ),
        f"`GET {api}/experiments/get` with `Host: evil.example`": lambda: (
            "GET", f"{api}/experiments/get",
            {"params": {"experiment_id": team.experiment_id}, "headers": {"Host": "evil.example"}},
        ),
        f"`POST {api}/runs/create` with `Origin: https://evil.example`": lambda: (
            "POST", f"{api}/runs/create",
            {"json": {"experiment_id": team.experiment_id},
             "headers": {"Origin": "https://evil.example"}},
        ),
    }  # fmt: skip
    method, path, options = requests_by_cell[cell]()
    return {"method": method, "url": team.url + path, **options}


def send_as(role: str, team: Team, request: dict) -> requests.Response:
    headers = dict(request.pop("headers", {}))
    credentials = team.users[role]
    if credentials is not None:
        token = base64.b64encode(":".join(credentials).encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return requests.request(headers=headers, timeout=30, **request)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def matrix_server(request, tmp_path_factory):
    """A server of its own, on each backend, with back-off off: the wrong-password column must
    not lock anyone out."""
    root = tmp_path_factory.mktemp(f"matrix-{request.param}")
    paths = ServerPaths(root / "data", root / "artifacts")
    backend = request.getfixturevalue("postgres").database() if request.param != "sqlite" else ""
    options = ServerSettings(port=free_port(), login_attempts=100_000, backend_store_uri=backend)
    password, _ = prepare(paths, options)
    with LocalServer(paths, options, password).start() as server:
        yield server


@pytest.fixture(scope="module")
def team(matrix_server, platform_settings) -> Team:
    settings = on_server(
        platform_settings.replace("tracking", uri=matrix_server.url, experiment=unique("matrix")),
        matrix_server,
    ).replace("model", registered_name=unique("matrix-model"))
    users = {role: new_user(settings, role) for role in ("reader", "member", "ci")}
    admin = ClientAs(matrix_server.url, "admin", matrix_server.admin_password)
    experiment = admin.get_experiment_by_name(settings.tracking.experiment)
    run = admin.create_run(experiment.experiment_id)
    member = ClientAs(matrix_server.url, *users["member"])
    teammate = ClientAs(matrix_server.url, *new_user(settings, "member"))
    own, frozen = (member.create_run(experiment.experiment_id) for _ in range(2))
    note = matrix_server.paths.data_dir.parent / "note.txt"
    note.write_text("a run's file", encoding="utf-8")
    admin.log_artifact(run.info.run_id, str(note))
    model = settings.model.registered_name
    admin.create_model_version(model, f"{run.info.artifact_uri}/model", run.info.run_id)
    admin.create_model_version(model, f"{frozen.info.artifact_uri}/model", frozen.info.run_id)
    return Team(
        url=matrix_server.url,
        artifacts=matrix_server.paths.artifacts_dir,
        experiment_id=experiment.experiment_id,
        run_id=run.info.run_id,
        run_file=f"{experiment.experiment_id}/{run.info.run_id}/artifacts/note.txt",
        run_artifacts=run.info.artifact_uri,
        model=model,
        users={
            **users,
            "none": None,
            "wrong password": (users["reader"][0], "not-the-password"),
            "admin": ("admin", matrix_server.admin_password),
        },
        admin=admin,
        own_run=own.info.run_id,
        teammate_run=teammate.create_run(experiment.experiment_id).info.run_id,
        frozen_run=frozen.info.run_id,
        decisions_id=admin.get_experiment_by_name(
            settings.tracking.decisions_experiment
        ).experiment_id,
    )


class ClientAs:
    """MlflowClient calls as one user, whatever the test's environment holds meanwhile."""

    def __init__(self, url: str, username: str, password: str) -> None:
        self.url = url
        self.login = {"MLFLOW_TRACKING_USERNAME": username, "MLFLOW_TRACKING_PASSWORD": password}

    def __getattr__(self, name: str):
        def call(*args, **kwargs):
            with environment(self.login):
                return getattr(MlflowClient(self.url), name)(*args, **kwargs)

        return call


MATRIX = documented_matrix()


def test_the_documented_matrix_covers_the_roles_and_the_risky_endpoints():
    assert len(MATRIX) >= 25
    assert any("gateway" in cell for cell in MATRIX) and any(
        "users/list" in cell for cell in MATRIX
    )


@pytest.mark.parametrize("cell", MATRIX)
def test_each_role_reaches_exactly_what_the_docs_say(cell, team):
    wrong = []
    for role in ROLES:
        response = send_as(role, team, request_for(cell, team, role))
        allowed = response.status_code not in DENIED and response.status_code < 500
        if allowed != MATRIX[cell][role]:
            wrong.append(f"{role}: {response.status_code} {response.text[:120]!r}")
    assert not wrong, f"{cell}: " + "; ".join(wrong)


def test_a_refused_overwrite_leaves_the_judged_bytes(team):
    relative = team.settled_file()
    request = {"method": "PUT", "url": f"{team.url}/api/2.0/mlflow-artifacts/artifacts/{relative}",
               "data": b"swapped"}  # fmt: skip
    assert send_as("member", team, request).status_code == 403
    assert (team.artifacts / relative).read_text(encoding="utf-8") == "judged bytes"


# --- failed logins over real HTTP (the shared server; its own address and user) ---------------


def test_failed_logins_back_off_per_address_without_locking_out_others(settings, tracking_server):
    name, password = new_user(on_server(settings, tracking_server), "reader")
    url = f"{tracking_server.url}/api/2.0/mlflow/users/current"
    attacker = {"X-Forwarded-For": "203.0.113.7"}
    codes = [
        requests.get(url, auth=(name, "guess-" + str(i)), headers=attacker, timeout=30).status_code
        for i in range(6)
    ]
    assert codes == [401] * 5 + [429]
    blocked = requests.get(url, auth=(name, password), headers=attacker, timeout=30)
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    elsewhere = requests.get(
        url, auth=(name, password), headers={"X-Forwarded-For": "198.51.100.2"}, timeout=30
    )
    assert elsewhere.status_code == 200
    assert (
        requests.get(url, auth=(name, password), headers=attacker, timeout=30).status_code == 200
    ), "credentials verified a moment ago still pass from a blocked address"


# --- the decision, with MLflow's real user store -----------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def user_store(tmp_path):
    store = SqlAlchemyStore()
    store.init_db(f"sqlite:///{tmp_path / 'auth.db'}")
    store.create_user("alice", PASSWORD)
    store.create_user("root", PASSWORD, is_admin=True)
    return store


def gatekeeper(store, clock: Clock, attempts: int = 2, ttl: float = 60) -> Gatekeeper:
    logins = Logins(
        check=PasswordCheck(store),
        by_address=Backoff(free=attempts, clock=clock),
        by_user=Backoff(free=2 * attempts, clock=clock),
        verified=VerifiedLogins(ttl_s=ttl, clock=clock),
    )
    return Gatekeeper(logins)


def basic(name: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()


TEAM = "/api/2.0/mlflow/runs/search"


def test_waits_double_after_the_free_attempts_and_are_forgotten(user_store):
    clock = Clock()
    gate = gatekeeper(user_store, clock)
    alice, wrong = basic("alice", PASSWORD), basic("alice", "wrong")
    assert [gate.refusal("GET", TEAM, "1.2.3.4", wrong).status for _ in range(2)] == [401, 401]
    assert gate.refusal("GET", TEAM, "1.2.3.4", alice).status == 429  # 1 s wait
    clock.now += 1.5
    assert gate.refusal("GET", TEAM, "1.2.3.4", wrong).status == 401
    blocked = gate.refusal("GET", TEAM, "1.2.3.4", alice)
    assert blocked.status == 429 and blocked.retry_after_s == 3  # 2 s wait, rounded up
    clock.now += 2.5
    assert gate.refusal("GET", TEAM, "1.2.3.4", alice) is None
    clock.now += guard_logins.FORGET_AFTER_S + 1
    assert gate.refusal("GET", TEAM, "1.2.3.4", wrong).status == 401, "forgotten: free again"


def test_the_user_name_backs_off_across_addresses(user_store):
    clock = Clock()
    gate = gatekeeper(user_store, clock)
    for i in range(5):
        gate.refusal("GET", TEAM, f"10.0.0.{i}", basic("alice", "wrong"))
    assert gate.refusal("GET", TEAM, "10.0.1.1", basic("alice", PASSWORD)).status == 429
    assert gate.refusal("GET", TEAM, "10.0.1.1", basic("root", PASSWORD)) is None


def test_an_unknown_name_costs_one_password_check_like_a_known_one(user_store, monkeypatch):
    checks = []
    real = guard_logins.check_password_hash

    def counted(hashed: str, password: str) -> bool:
        checks.append(hashed)
        return real(hashed, password)

    monkeypatch.setattr(guard_logins, "check_password_hash", counted)
    monkeypatch.setattr("mlflow.server.auth.sqlalchemy_store.check_password_hash", counted)
    check = PasswordCheck(user_store)
    assert check("alice", "wrong") is None and check("mallory", "wrong") is None
    assert len(checks) == 2
    assert checks[0].split("$")[0] == checks[1].split("$")[0], "same hash method and cost"


def test_non_admins_reach_team_paths_only(user_store):
    gate = gatekeeper(user_store, Clock())
    member, root = basic("alice", PASSWORD), basic("root", PASSWORD)
    assert gate.refusal("GET", "/api/2.0/mlflow/users/list", "h", member).status == 403
    assert gate.refusal("GET", "/api/2.0/mlflow/users/list", "h", root) is None
    assert gate.refusal("GET", "/gateway/mlflow/v1/models", "h", "").status == 401


@pytest.mark.parametrize(
    ("path", "team"),
    [
        ("/api/2.0/mlflow/runs/search", True),
        ("/ajax-api/2.0/mlflow/registered-models/alias", True),
        ("/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/model.skops", True),
        ("/api/2.0/mlflow/experiments/permissions/create", False),
        ("/api/2.0/mlflow/users/list", False),
        ("/api/2.0/mlflow-artifacts/mpu/create/1/x", False),
        ("/ajax-api/3.0/mlflow/assistant/config", False),
        ("/api/3.0/mlflow/mcp-servers", False),
        ("/api/2.0/mlflow/runs/search/../../users/list", False),
    ],
)
def test_team_paths(path, team):
    assert is_team_path(path) is team


def test_credentials_and_addresses_are_parsed_strictly():
    assert basic_credentials(basic("a", "b:c")) == ("a", "b:c")
    assert basic_credentials("Bearer x") is None
    assert basic_credentials("Basic !!!") is None
    assert client_address("127.0.0.1", "6.6.6.6, 203.0.113.9") == "203.0.113.9"
    assert client_address("192.168.1.5", "203.0.113.9") == "192.168.1.5", "only the tunnel's"
    assert client_address("127.0.0.1", "") == guard_logins.LOCAL


# --- one version per run -----------------------------------------------------------------------


def test_concurrent_creates_give_a_run_one_version(team):
    """Eight clients register the same run at once: one version, seven RESOURCE_ALREADY_EXISTS."""
    model = unique("race")
    team.admin.create_registered_model(model)
    source = f"{team.run_artifacts}/model"

    def create(_):
        try:
            return client.create_model_version(model, source, team.run_id).version
        except MlflowException as exc:
            return exc.error_code

    # one environment for all threads: per-call credentials would race on os.environ
    with environment(team.admin.login):
        client = MlflowClient(team.url)
        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = list(pool.map(create, range(8)))
    assert sorted(outcomes) == ["1"] + ["RESOURCE_ALREADY_EXISTS"] * 7
    assert len(team.admin.search_model_versions(f"name = '{model}'")) == 1
