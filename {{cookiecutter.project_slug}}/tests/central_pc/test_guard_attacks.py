"""The attacks of a member and an outsider who read MLflow's source, sent to a real
`mlops server start` app: every request MLflow would read differently from the guard is refused
before MLflow sees it, and what a member may write is only their own unregistered work."""

from __future__ import annotations

import base64
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.central_pc.tracking_server import LocalServer, ServerPaths, prepare
from {{ cookiecutter.package_name }}.process import free_port
from {{ cookiecutter.package_name }}.settings import ServerSettings
from {{ cookiecutter.package_name }}.tracking.mlflow_environment import environment

from ..central_pc_fixtures import new_user, on_server, unique

ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
API = "/api/2.0/mlflow"


class As:
    """MlflowClient calls as one user, whatever the test's environment holds meanwhile."""

    def __init__(self, url: str, username: str, password: str) -> None:
        self.url, self.login = url, (username, password)

    def __getattr__(self, name: str):
        def call(*args, **kwargs):
            names = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
            login = dict(zip(names, self.login, strict=True))
            with environment({**login, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}):
                return getattr(MlflowClient(self.url), name)(*args, **kwargs)

        return call


@dataclass
class Scene:
    url: str
    artifacts: Path
    log: Path
    experiment_id: str
    model: str
    admin: As
    member: As
    teammate: As
    ci: As


@pytest.fixture(scope="module")
def scene(tmp_path_factory, platform_settings) -> Scene:
    """A server of its own: a 1 s login cache, so that the lock-out attack meets real checks."""
    root = tmp_path_factory.mktemp("attacks")
    paths = ServerPaths(root / "data", root / "artifacts")
    options = ServerSettings(port=free_port(), auth_cache_ttl_seconds=1)
    password, _ = prepare(paths, options)
    with LocalServer(paths, options, password).start() as server:
        settings = on_server(
            platform_settings.replace("tracking", uri=server.url, experiment=unique("attacks")),
            server,
        ).replace("model", registered_name=unique("attacked"))
        users = {role: new_user(settings, role) for role in ("member", "ci")}
        admin = As(server.url, "admin", password)
        yield Scene(
            url=server.url,
            artifacts=paths.artifacts_dir,
            log=paths.data_dir / "server.log",
            experiment_id=admin.get_experiment_by_name(settings.tracking.experiment).experiment_id,
            model=settings.model.registered_name,
            admin=admin,
            member=As(server.url, *users["member"]),
            teammate=As(server.url, *new_user(settings, "member")),
            ci=As(server.url, *users["ci"]),
        )


def header(login: tuple[str, str], separator: str = " ") -> dict[str, str]:
    token = base64.b64encode(":".join(login).encode()).decode()
    return {"Authorization": f"Basic{separator}{token}"}


def champion_model(scene: Scene) -> tuple[str, str]:
    """A member's logged model with one file, registered by the admin: (run id, model id)."""
    run = scene.member.create_run(scene.experiment_id)
    model = scene.member.create_logged_model(scene.experiment_id, source_run_id=run.info.run_id)
    put = requests.put(
        f"{scene.url}{ARTIFACTS}/{scene.experiment_id}/models/{model.model_id}/artifacts/model.skops",
        data=b"judged bytes", headers=header(scene.member.login), timeout=30,
    )  # fmt: skip
    assert put.status_code == 200, "a member writes to their own model before registration"
    name = unique("champion")
    scene.admin.create_registered_model(name)
    scene.admin.create_model_version(
        name, f"models:/{model.model_id}", run.info.run_id, model_id=model.model_id
    )
    return run.info.run_id, model.model_id


def model_file(scene: Scene, model_id: str, name: str = "model.skops") -> Path:
    return scene.artifacts / scene.experiment_id / "models" / model_id / "artifacts" / name


# --- 1. credentials MLflow's other parser would read ---------------------------------------------


@pytest.mark.parametrize("separator", ["\t", "  ", " \t"])
def test_a_login_only_mlflows_fastapi_routes_read_is_refused(scene, separator):
    _, model_id = champion_model(scene)
    url = f"{scene.url}{ARTIFACTS}/{scene.experiment_id}/models/{model_id}/artifacts/model.skops"
    response = requests.put(url, data=b"swapped", headers=header(scene.member.login, separator),
                            timeout=30)  # fmt: skip
    assert response.status_code == 401
    assert model_file(scene, model_id).read_bytes() == b"judged bytes"


@pytest.mark.parametrize(
    "value", ["Bearer abc", "Digest username=x", "Basic", "Basic !!!", "Basic Zm9v", "Negotiate"]
)
def test_a_malformed_or_foreign_authorization_is_a_401_not_a_500(scene, value):
    response = requests.get(f"{scene.url}{API}/experiments/search",
                            headers={"Authorization": value}, timeout=30)  # fmt: skip
    assert response.status_code == 401 and "Traceback" not in response.text


def test_two_authorization_headers_are_refused(scene):
    raw = (
        f"GET {API}/users/current HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: {header(scene.member.login)['Authorization']}\r\n"
        f"Authorization: {header(scene.admin.login)['Authorization']}\r\nConnection: close\r\n\r\n"
    )
    assert raw_status(scene.url, raw.encode()) == 401


# --- 2. paths MLflow decodes further than once ---------------------------------------------------


@pytest.mark.parametrize(
    "name", ["model%252Eskops", "%252Fmodel.skops", "model%25252Eskops", "model%255cskops"]
)
def test_a_path_still_encoded_after_one_decoding_is_refused(scene, name):
    _, model_id = champion_model(scene)
    folder = f"{scene.experiment_id}/models/{model_id}/artifacts"
    for login in (scene.member.login, scene.admin.login):
        response = requests.put(f"{scene.url}{ARTIFACTS}/{folder}/{name}", data=b"swapped",
                                headers=header(login), timeout=30)  # fmt: skip
        assert response.status_code == 400
    assert model_file(scene, model_id).read_bytes() == b"judged bytes"


# --- 3. nobody's guesses lock out the runner or a working teammate ------------------------------


def test_guesses_from_eight_addresses_lock_out_neither_ci_nor_a_working_teammate(scene):
    url = f"{scene.url}{API}/users/current"
    ci, teammate = scene.ci.login, scene.teammate.login
    at_home = {"X-Forwarded-For": "198.51.100.20"}
    assert requests.get(url, auth=teammate, headers=at_home, timeout=30).status_code == 200
    for i in range(20):
        for name in (ci[0], teammate[0]):
            attacker = {"X-Forwarded-For": f"203.0.113.{i % 8}"}
            requests.get(url, auth=(name, f"guess-{i}"), headers=attacker, timeout=30)
    from_elsewhere = {"X-Forwarded-For": "192.0.2.99"}
    assert requests.get(url, auth=ci, headers=from_elsewhere, timeout=30).status_code == 429, (
        "a new place still waits: guessing the name stays throttled"
    )
    time.sleep(1.5)  # past the login cache: every answer below needs a real password check
    for _ in range(3):
        assert requests.get(url, auth=ci, timeout=30).status_code == 200, "the runner (local)"
        assert requests.get(url, auth=teammate, headers=at_home, timeout=30).status_code == 200
        time.sleep(1.1)


# --- 4. a registered model's folder is frozen ----------------------------------------------------


@pytest.mark.parametrize("name", ["NOTES.txt", "model.skops", "sub/extra.bin"])
def test_nobody_but_admin_adds_or_replaces_a_file_of_a_registered_model(scene, name):
    _, model_id = champion_model(scene)
    url = f"{scene.url}{ARTIFACTS}/{scene.experiment_id}/models/{model_id}/artifacts/{name}"
    for who in (scene.member, scene.teammate, scene.ci):
        answer = requests.put(url, data=b"x", headers=header(who.login), timeout=30)
        assert answer.status_code == 403
    assert not (model_file(scene, model_id, name).exists() and name != "model.skops")
    assert model_file(scene, model_id).read_bytes() == b"judged bytes"


# --- 6. a member cannot attach a model to a teammate's run ---------------------------------------


def test_a_member_cannot_attach_a_model_to_a_teammates_run(scene):
    from mlflow.entities import LoggedModelOutput

    victim = scene.teammate.create_run(scene.experiment_id).info.run_id
    with pytest.raises(Exception, match="belongs to"):
        scene.member.create_logged_model(scene.experiment_id, source_run_id=victim)
    own = scene.member.create_run(scene.experiment_id).info.run_id
    planted = scene.member.create_logged_model(scene.experiment_id, source_run_id=own)
    with pytest.raises(Exception, match="belongs to"):
        scene.member.log_outputs(victim, [LoggedModelOutput(planted.model_id, 0)])
    with pytest.raises(Exception, match="belongs to"):
        scene.member.log_metric(victim, "cv_f1", 1.0)
    assert scene.admin.get_run(victim).outputs.model_outputs == []


def test_a_run_is_recorded_as_its_logins_whatever_the_client_says(scene):
    body = {"experiment_id": scene.experiment_id, "userId": "teammate-name"}
    response = requests.post(f"{scene.url}{API}/runs/create", json=body,
                             headers=header(scene.member.login), timeout=30)  # fmt: skip
    assert response.status_code == 200
    assert response.json()["run"]["info"]["user_id"] == scene.member.login[0]


# --- 8. one version per run, in every spelling MLflow reads --------------------------------------


@pytest.mark.parametrize("key", ["run_id", "runId"])
def test_a_run_gets_one_version_whichever_spelling_names_it(scene, key):
    run = scene.admin.create_run(scene.experiment_id)
    name = unique("once")
    scene.admin.create_registered_model(name)
    scene.admin.create_model_version(name, f"{run.info.artifact_uri}/model", run.info.run_id)
    body = {"name": name, "source": f"{run.info.artifact_uri}/model", key: run.info.run_id}
    response = requests.post(f"{scene.url}{API}/model-versions/create", json=body,
                             headers=header(scene.admin.login), timeout=30)  # fmt: skip
    assert response.status_code == 409
    assert len(scene.admin.search_model_versions(f"name = '{name}'")) == 1


def test_a_backslash_in_a_version_request_is_an_answer_not_a_crash(scene):
    body = {"name": "bad\\name'", "source": "models:/m-1", "run_id": "abc\\'"}
    response = requests.post(f"{scene.url}{API}/model-versions/create", json=body,
                             headers=header(scene.admin.login), timeout=30)  # fmt: skip
    assert 400 <= response.status_code < 500


# --- 9. outsiders are cheap to refuse ------------------------------------------------------------


def raw_status(url: str, request: bytes) -> int:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        return int(connection.recv(4096).split(b" ", 2)[1])


def test_a_huge_body_without_credentials_is_refused_before_it_is_read(scene):
    """The body is never sent: an answer at all proves the guard did not wait for 300 MB."""
    raw = (
        f"PUT {ARTIFACTS}/{scene.experiment_id}/x/artifacts/big.bin HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\nContent-Length: 300000000\r\n\r\n"
    )
    assert raw_status(scene.url, raw.encode()) == 401


def test_api_bodies_are_capped_and_uploads_must_say_their_length(scene):
    run = scene.member.create_run(scene.experiment_id).info.run_id
    big = (
        f"POST {API}/runs/log-batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 900000000\r\n"
        f"Content-Type: application/json\r\n{_header_line(scene.member.login)}\r\n"
    )
    assert raw_status(scene.url, big.encode()) == 413
    chunked = requests.put(
        f"{scene.url}{ARTIFACTS}/{scene.experiment_id}/{run}/artifacts/stream.bin",
        data=iter([b"a" * 10, b"b" * 10]), headers=header(scene.member.login), timeout=30,
    )  # fmt: skip
    assert chunked.status_code == 411


def _header_line(login: tuple[str, str]) -> str:
    return f"Authorization: {header(login)['Authorization']}\r\n"


def test_the_log_names_the_user_of_every_write_and_each_refusal_once(scene):
    run = scene.member.create_run(scene.experiment_id).info.run_id
    marker = uuid.uuid4().hex
    path = f"{ARTIFACTS}/{scene.experiment_id}/{run}/artifacts/{marker}.txt"
    assert requests.put(scene.url + path, data=b"x", headers=header(scene.member.login),
                        timeout=30).status_code == 200  # fmt: skip
    refused = requests.get(f"{scene.url}{API}/experiments/search?{marker}",
                           headers={"Authorization": "Bearer x"}, timeout=30)  # fmt: skip
    assert refused.status_code == 401
    time.sleep(0.5)
    log = scene.log.read_text(encoding="utf-8", errors="replace")
    assert f"PUT {path} by {scene.member.login[0]}" in log
    assert "Traceback" not in log.split(marker, 1)[1]


# --- 10. private on disk -------------------------------------------------------------------------


def test_the_servers_files_are_for_its_own_os_user_only(scene):
    run = scene.member.create_run(scene.experiment_id).info.run_id
    path = f"{scene.experiment_id}/{run}/artifacts/deep/private.txt"
    requests.put(f"{scene.url}{ARTIFACTS}/{path}", data=b"x", headers=header(scene.member.login),
                 timeout=30).raise_for_status()  # fmt: skip
    written = scene.artifacts / path
    assert written.stat().st_mode & 0o077 == 0
    assert written.parent.stat().st_mode & 0o077 == 0
    assert scene.artifacts.stat().st_mode & 0o077 == 0
    loose = [p.name for p in scene.log.parent.iterdir() if p.stat().st_mode & 0o077]
    assert loose == [], "databases, log, config and secrets of the server"
