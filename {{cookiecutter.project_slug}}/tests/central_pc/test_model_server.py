"""`mlops serve`: the champion served on 127.0.0.1 by `mlflow models serve`, smoke-tested."""

from __future__ import annotations

import json
import re
import shlex
import sys
import time

import mlflow.pyfunc
import pytest
import requests
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.central_pc.model_server import champion_uri, predict, smoke_rows
from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.experiments.train import train
from {{ cookiecutter.package_name }}.process import free_port, port_in_use
from {{ cookiecutter.package_name }}.registry.challenger import register_challenger

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


@pytest.fixture(scope="module")
def champion(platform_settings, tracking_server, tmp_path_factory):
    """A trained model registered as champion, and a reader who may serve it."""
    settings = with_changes(
        platform_settings,
        tracking={"uri": tracking_server.url, "experiment": unique("serve")},
        model={"registered_name": unique("served-model")},
    )
    settings = on_server(settings, tracking_server)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", tracking_server.url)
        patch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
        patch.setenv("MLFLOW_TRACKING_PASSWORD", tracking_server.admin_password)
        result = train(settings, {})
        version = register_challenger(settings).version
        client = MlflowClient(tracking_uri=tracking_server.url)
        client.set_registered_model_alias(settings.model.registered_name, "champion", version)
        expected = mlflow.pyfunc.load_model(result.model_uri).predict(smoke_rows(settings))
        patch.delenv("MLFLOW_TRACKING_USERNAME")
        patch.delenv("MLFLOW_TRACKING_PASSWORD")
        reader = new_user(settings, "reader")
    folder = tmp_path_factory.mktemp("serve")
    return settings, config_for(tracking_server, folder, settings), reader, expected.tolist()


def test_serve_starts_the_champion_and_smoke_tests_it(champion, tracking_server, tmp_path):
    settings, config, (user, password), expected = champion
    port = free_port()
    env = project_env(
        MLOPS_CONFIG=str(config),
        MLFLOW_TRACKING_URI=tracking_server.url,
        MLFLOW_TRACKING_USERNAME=user,
        MLFLOW_TRACKING_PASSWORD=password,
    )
    served = Foreground(["serve", "--port", str(port)], env, tmp_path / "serve.log")
    served.start("Ctrl-C stops it", timeout=180)
    try:
        output = served.output()
        served_at = f"(version 1, files verified) at http://127.0.0.1:{port}"
        assert f"serving {champion_uri(settings)} {served_at}" in output
        assert f"smoke prediction on 3 holdout rows: {expected}" in output
        url = f"http://127.0.0.1:{port}"
        assert predict(url, smoke_rows(settings)) == expected
        [example] = re.findall(r"a request to try: curl .* -d (.+)$", output, re.M)
        pasted = json.loads(shlex.split(example)[0])  # what the shell hands to curl
        answer = requests.post(f"{url}/invocations", json=pasted, timeout=30)
        assert answer.status_code == 200  # a regression value may differ in its last bit
        assert answer.json()["predictions"] == pytest.approx(expected[:1], rel=1e-12)
        columns = re.search(r"input columns \((\d+)\): (.+)$", output, re.M)
        assert columns.group(2).split(", ") == list(smoke_rows(settings).columns)
        assert requests.get(f"{url}/ping", timeout=5).status_code == 200
    finally:
        assert served.stop() == 0, served.output()
    assert "Stopping the model server" in served.output()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux parent-death signal")
def test_a_killed_serve_takes_its_scoring_server_along(champion, tracking_server, tmp_path):
    """kill -9 of `mlops serve` (an OOM kill, a closed terminal): the port is free again."""
    _settings, config, (user, password), _expected = champion
    port = free_port()
    env = project_env(MLOPS_CONFIG=str(config), MLFLOW_TRACKING_URI=tracking_server.url,
                      MLFLOW_TRACKING_USERNAME=user, MLFLOW_TRACKING_PASSWORD=password)  # fmt: skip
    served = Foreground(["serve", "--port", str(port)], env, tmp_path / "serve.log")
    served.start("Ctrl-C stops it", timeout=180)
    served.process.kill()  # SIGKILL: nothing runs in `mlops serve`
    served.process.wait()
    deadline = time.monotonic() + 60
    while port_in_use("127.0.0.1", port) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not port_in_use("127.0.0.1", port), "no scoring server outlives mlops serve"


def test_no_champion_yet_is_one_line(
    settings, tracking_server, as_admin, tmp_path, monkeypatch, capsys
):
    config = config_for(tracking_server, tmp_path, settings)
    monkeypatch.setenv("MLOPS_CONFIG", str(config))
    assert main(["serve", "--port", str(free_port())]) == 2
    assert "has no champion yet: run mlops promote" in one_line_error(capsys)


def test_a_port_in_use_is_one_line(champion, tracking_server, monkeypatch, capsys):
    _settings, config, (user, password), _expected = champion
    monkeypatch.setenv("MLOPS_CONFIG", str(config))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_server.url)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)
    assert main(["serve", "--port", str(tracking_server.options.port)]) == 2
    assert "is already in use" in one_line_error(capsys)
