"""Behind Cloudflare Access, MLflow's requests carry the service token, and only where it is safe.

The stand-in for Access is the project's proxy with `require`: it answers 403 to any request
without the token's two headers, as Access does, and forwards the rest to a real server.
"""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.central_pc.tunnel import verify
from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.errors import ServerUnavailable
from {{ cookiecutter.package_name }}.experiments.train import train
from {{ cookiecutter.package_name }}.tracking.access_headers import AccessServiceToken
from {{ cookiecutter.package_name }}.tracking.access_token import ID_ENV, SECRET_ENV

from ..http_proxy import Proxy
from ..project import with_changes

TOKEN = {"CF-Access-Client-Id": "team.access", "CF-Access-Client-Secret": "service-secret-1"}


@pytest.fixture
def access(tracking_server):
    with Proxy(tracking_server.url, require=TOKEN) as proxy:
        yield proxy


def test_without_the_token_access_refuses_every_call(access, as_admin, capsys, monkeypatch):
    monkeypatch.delenv(ID_ENV, raising=False)
    assert main(["--tracking-uri", access.url, "status"]) == 3
    assert "(403)" in capsys.readouterr().err
    assert access.total > 0, "the refusal came from Access, not from a server never reached"


def test_with_the_token_a_run_is_trained_and_logged_through_access(
    access, as_admin, settings, monkeypatch
):
    monkeypatch.setenv(ID_ENV, TOKEN["CF-Access-Client-Id"])
    monkeypatch.setenv(SECRET_ENV, TOKEN["CF-Access-Client-Secret"])
    behind_access = with_changes(settings, tracking={"uri": access.url})
    result = train(behind_access, {})
    run = MlflowClient(settings.tracking.uri).get_run(result.run_id)  # straight to the server
    assert run.info.status == "FINISHED" and run.data.metrics


@pytest.mark.parametrize(
    ("uri", "sent"),
    [
        ("https://mlflow.example.org", True),
        ("http://127.0.0.1:5000", True),
        ("http://localhost:5000", True),
        ("http://mlflow.example.org", False),  # in clear over a network: never
        ("http://192.168.1.20:5000", False),
    ],
)
def test_the_token_only_travels_encrypted_or_on_this_machine(uri, sent, monkeypatch):
    monkeypatch.setenv(ID_ENV, "id")
    monkeypatch.setenv(SECRET_ENV, "secret")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert AccessServiceToken().in_context() is sent
    monkeypatch.delenv(SECRET_ENV)
    assert AccessServiceToken().in_context() is False


def test_the_tunnel_check_gets_past_access_and_still_finds_the_server_locked(access, monkeypatch):
    monkeypatch.delenv(ID_ENV, raising=False)
    with pytest.raises(ServerUnavailable, match="/health answered 403"):
        verify(access.url)
    monkeypatch.setenv(ID_ENV, TOKEN["CF-Access-Client-Id"])
    monkeypatch.setenv(SECRET_ENV, TOKEN["CF-Access-Client-Secret"])
    verify(access.url)  # /health answers, and an API call without a login gets the server's 401
