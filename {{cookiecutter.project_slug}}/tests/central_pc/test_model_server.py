"""`mlops serve`: the champion answers through MLflow's scoring app and follows the alias —
a promotion and a rollback are served with no restart and no failed request, a tampered new
champion is refused while the old one keeps answering, and only token holders get in."""

from __future__ import annotations

import json
import re
import shlex
import sys
import threading
import time
from collections import Counter

import mlflow
import pandas as pd
import pytest
import requests
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.experiments.train import train
from {{ cookiecutter.package_name }}.inference.serve_state import running
from {{ cookiecutter.package_name }}.process import free_port, port_in_use
from {{ cookiecutter.package_name }}.registry.challenger import register_challenger
from {{ cookiecutter.package_name }}.registry.promotion import promote
from {{ cookiecutter.package_name }}.registry.rollback import rollback
from {{ cookiecutter.package_name }}.tracking.model_registry import CHAMPION

from ..central_pc_fixtures import (
    Foreground,
    config_for,
    new_user,
    on_server,
    one_line_error,
    project_env,
    unique,
)
from ..project import with_changes

TOKEN = "a-test-token-made-for-this-run"


def team_settings(platform_settings, tracking_server, name: str):
    settings = with_changes(
        platform_settings,
        tracking={"uri": tracking_server.url, "experiment": unique(name)},
        model={"registered_name": unique(f"{name}-model")},
        promotion={"approvers": []},
    )
    return on_server(settings, tracking_server)


@pytest.fixture(scope="module")
def champion(platform_settings, tracking_server, tmp_path_factory):
    """A trained model registered as champion, a challenger beside it, and a reader."""
    settings = team_settings(platform_settings, tracking_server, "serve")
    name, weak = next(iter(settings.model.params.items()))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", tracking_server.url)
        patch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
        patch.setenv("MLFLOW_TRACKING_PASSWORD", tracking_server.admin_password)
        first = train(settings, {name: weak / 500})
        register_challenger(settings)
        assert promote(settings).passed
        train(settings, {})
        register_challenger(settings, newer_than_challenger=True)
        patch.delenv("MLFLOW_TRACKING_USERNAME")
        patch.delenv("MLFLOW_TRACKING_PASSWORD")
        reader = new_user(settings, "reader")
    folder = tmp_path_factory.mktemp("serve")
    return settings, config_for(tracking_server, folder, settings), reader, first.model_uri


def serving(champion, tracking_server, log, *args, **env) -> Foreground:
    _settings, config, (user, password), _uri = champion
    environment = project_env(
        MLOPS_CONFIG=str(config), MLFLOW_TRACKING_URI=tracking_server.url,
        MLFLOW_TRACKING_USERNAME=user, MLFLOW_TRACKING_PASSWORD=password, **env,
    )  # fmt: skip
    return Foreground(["serve", *args], environment, log).start("Ctrl-C stops it", timeout=180)


def test_serve_answers_in_mlflow_formats_names_its_version_and_asks_for_the_token(
    champion, tracking_server, tmp_path, as_admin
):
    settings, config, _reader, model_uri = champion
    port = free_port()
    served = serving(champion, tracking_server, tmp_path / "serve.log", "--port", str(port),
                     MLOPS_SERVE_TOKEN=TOKEN)  # fmt: skip
    url, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {TOKEN}"}
    try:
        output = served.output()
        assert f"(version 1, files verified) at {url}/invocations" in output
        [example] = re.findall(r"a request to try: curl .* -d (.+)$", output, re.M)
        body = json.loads(shlex.split(example)[0])  # what the shell hands to curl
        rows = body["dataframe_split"]
        frame = pd.DataFrame(rows["data"], columns=rows["columns"])
        expected = mlflow.pyfunc.load_model(model_uri).predict(frame).tolist()
        records = [dict(zip(rows["columns"], row, strict=True)) for row in rows["data"]]
        for payload in ({"dataframe_split": rows}, {"dataframe_records": records},
                        {"inputs": records}, {"instances": records}):  # fmt: skip
            answer = requests.post(f"{url}/invocations", json=payload, headers=auth, timeout=30)
            assert answer.status_code == 200, answer.text
            assert answer.headers["X-Model-Version"] == "1"
            assert answer.json()["predictions"] == pytest.approx(expected, rel=1e-12)
        model = requests.get(f"{url}/model", headers=auth, timeout=5)
        assert model.json()["version"] == "1"
        assert model.json()["name"] == settings.model.registered_name
        assert requests.get(f"{url}/version", headers=auth, timeout=5).text == mlflow.__version__
        assert requests.get(f"{url}/ping", headers=auth, timeout=5).status_code == 200
        bad = requests.post(f"{url}/invocations", json={"nope": 1}, headers=auth, timeout=30)
        assert bad.status_code == 400, "MLflow's own parsing answers a malformed request"
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            for path in ("/invocations", "/model", "/ping"):
                refused = requests.post(f"{url}{path}", json=body, headers=headers, timeout=5)
                assert refused.status_code == 401, (path, headers)
                assert "X-Model-Version" not in refused.headers
        [state] = running(config.parent / ".mlops/serving")
        assert state.version == "1" and state.url == url
    finally:
        assert served.stop() == 0, served.output()
    assert "Stopping the model server" in served.output()
    assert running(config.parent / ".mlops/serving") == []


class Client(threading.Thread):
    """Posts the example again and again, as production traffic would; counts every answer."""

    def __init__(self, url: str, body: dict):
        super().__init__(daemon=True)
        self.url, self.body = url, body
        self.versions: Counter = Counter()
        self.failures: list[str] = []
        self.last = ""
        self.stopped = threading.Event()

    def run(self) -> None:
        with requests.Session() as session:
            while not self.stopped.is_set():
                try:
                    answer = session.post(f"{self.url}/invocations", json=self.body, timeout=30)
                except requests.RequestException as exc:
                    self.failures.append(type(exc).__name__)
                    continue
                if answer.status_code != 200:
                    self.failures.append(f"{answer.status_code} {answer.text[:100]}")
                self.last = answer.headers.get("X-Model-Version", "")
                self.versions[self.last] += 1

    def until(self, version: str, timeout: float) -> float:
        started = time.monotonic()
        while self.last != version:
            assert time.monotonic() - started < timeout, f"still {self.last}, {self.versions}"
            time.sleep(0.05)
        return time.monotonic() - started


@pytest.fixture
def follow(platform_settings, tracking_server, tmp_path, as_admin):
    """A team of its own: version 1 champion, version 2 its better challenger."""
    settings = team_settings(platform_settings, tracking_server, "follow")
    name, value = next(iter(settings.model.params.items()))
    train(settings, {name: value / 500})
    register_challenger(settings)
    assert promote(settings).passed
    train(settings, {})
    register_challenger(settings, newer_than_challenger=True)
    reader = new_user(settings, "reader")
    return settings, config_for(tracking_server, tmp_path / "team", settings), reader, ""


def test_serve_follows_promote_and_rollback_with_no_failed_request(
    follow, tracking_server, tmp_path
):
    settings = follow[0]
    port, poll = free_port(), 0.5
    served = serving(follow, tracking_server, tmp_path / "serve.log", "--port", str(port),
                     "--poll-seconds", str(poll))  # fmt: skip
    [example] = re.findall(r"a request to try: curl .* -d (.+)$", served.output(), re.M)
    client = Client(f"http://127.0.0.1:{port}", json.loads(shlex.split(example)[0]))
    client.start()
    try:
        client.until("1", 30)
        assert promote(settings).passed
        promoted_in = client.until("2", 60)
        rollback(settings)
        rolled_back_in = client.until("1", 60)
        time.sleep(2 * poll)
    finally:
        client.stopped.set()
        client.join(30)
        assert served.stop() == 0, served.output()
    assert client.failures == []
    assert client.versions["1"] > 0 and client.versions["2"] > 0
    assert "champion moved: now serving version 2 (was 1)" in served.output()
    assert "champion moved: now serving version 1 (was 2)" in served.output()
    print(f"served the promotion in {promoted_in:.1f} s, the rollback in {rolled_back_in:.1f} s, "
          f"{sum(client.versions.values())} answers, none failed")  # fmt: skip


def test_a_tampered_new_champion_is_refused_and_the_old_one_keeps_serving(
    follow, tracking_server, tmp_path, capsys
):
    settings = follow[0]
    name, client = settings.model.registered_name, MlflowClient()
    challenger = client.get_model_version_by_alias(name, "challenger")
    logged = client.get_logged_model(challenger.source.removeprefix("models:/"))
    path = logged.artifact_location.removeprefix("mlflow-artifacts:/")
    url = f"{tracking_server.url}/api/2.0/mlflow-artifacts/artifacts/{path}/model.skops"
    admin = ("admin", tracking_server.admin_password)
    assert requests.put(url, data=b"not the judged model", auth=admin, timeout=30).ok
    port = free_port()
    served = serving(follow, tracking_server, tmp_path / "serve.log", "--port", str(port),
                     "--poll-seconds", "0.5", MLOPS_MODEL_CACHE="off")  # fmt: skip
    try:
        client.set_registered_model_alias(name, CHAMPION, challenger.version)  # past the gates
        deadline = time.monotonic() + 60
        while "refused" not in served.output() and time.monotonic() < deadline:
            time.sleep(0.2)
        refusal = "champion moved to version 2, refused: the files of version 2"
        assert refusal in served.output()
        assert "still serving version 1" in served.output()
        answer = requests.get(f"http://127.0.0.1:{port}/model", timeout=5)
        assert answer.json()["version"] == "1"
        [state] = running(follow[1].parent / ".mlops/serving")
        assert refusal in state.refused
        main(["--config", str(follow[1]), "doctor"])
        assert refusal in capsys.readouterr().out
        assert main(["--config", str(follow[1]), "status"]) == 2  # the champion's files changed
        assert refusal in capsys.readouterr().out, "status says what serve is doing too"
    finally:
        assert served.stop() == 0, served.output()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGKILL")
def test_a_killed_serve_leaves_no_server_behind(champion, tracking_server, tmp_path):
    """kill -9 of `mlops serve` (an OOM kill, a closed terminal): the port is free again."""
    port = free_port()
    served = serving(champion, tracking_server, tmp_path / "serve.log", "--port", str(port))
    served.process.kill()
    served.process.wait()
    deadline = time.monotonic() + 30
    while port_in_use("127.0.0.1", port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not port_in_use("127.0.0.1", port), "nothing outlives mlops serve"


def test_listening_beyond_loopback_needs_a_token(champion, monkeypatch, capsys):
    monkeypatch.setenv("MLOPS_CONFIG", str(champion[1]))
    monkeypatch.delenv("MLOPS_SERVE_TOKEN", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--port", str(free_port())]) == 2
    assert "set MLOPS_SERVE_TOKEN" in one_line_error(capsys)


def test_no_champion_yet_is_one_line(
    settings, tracking_server, as_admin, tmp_path, monkeypatch, capsys
):
    config = config_for(tracking_server, tmp_path, settings)
    monkeypatch.setenv("MLOPS_CONFIG", str(config))
    assert main(["serve", "--port", str(free_port())]) == 2
    assert "has no champion yet: run mlops promote" in one_line_error(capsys)


def test_a_port_in_use_is_one_line(champion, tracking_server, monkeypatch, capsys):
    monkeypatch.setenv("MLOPS_CONFIG", str(champion[1]))
    assert main(["serve", "--port", str(tracking_server.options.port)]) == 2
    assert "is already in use" in one_line_error(capsys)
