"""Colab glue: secrets into MLflow's variables, settings, and the one-line connection checks."""

import subprocess
import sys
import uuid

import mlflow
import pytest
from mlflow.server import get_app_client

from {{ cookiecutter.package_name }}.errors import BadInput, ServerUnavailable
from {{ cookiecutter.package_name }}.experiments import colab
from {{ cookiecutter.package_name }}.experiments.colab import (
    SECRETS,
    check_connection,
    notebook_settings,
    require_connection,
    use_secrets,
)
from {{ cookiecutter.package_name }}.process import free_port

from ..project import PROJECT_ROOT


@pytest.mark.parametrize("missing", SECRETS)
def test_a_missing_secret_is_named(missing, monkeypatch):
    for name in SECRETS:
        monkeypatch.setenv(name, "value")
    monkeypatch.delenv(missing)
    with pytest.raises(BadInput, match=f"missing secret {missing}: add it in Colab's Secrets"):
        use_secrets()


def test_the_settings_are_the_checkouts_with_an_optional_sandbox(monkeypatch):
    monkeypatch.chdir(PROJECT_ROOT / "notebooks")
    monkeypatch.delenv("MLOPS_CONFIG", raising=False)
    settings = notebook_settings()
    assert settings.root == PROJECT_ROOT
    assert notebook_settings("my-sandbox").tracking.experiment == "my-sandbox"
    assert notebook_settings("my-sandbox").model == settings.model


def lines(settings) -> list[str]:
    return [verdict.line() for verdict in check_connection(settings)]


def test_every_check_passes_for_the_admin(settings, as_admin):
    found = lines(settings)
    assert [line.split(":")[0].split()[-1] for line in found] == [
        "reachable", "/health", "credentials", "runs",
    ]  # fmt: skip
    assert all(line.startswith("ok") for line in found)
    require_connection(settings, echo=lambda line: None)


def test_an_unreachable_server_is_one_line(settings):
    settings = settings.replace("tracking", uri=f"http://127.0.0.1:{free_port()}")
    [line] = lines(settings)
    assert line.startswith("FAIL") and "no answer from" in line
    with pytest.raises(ServerUnavailable, match="server reachable"):
        require_connection(settings, echo=lambda line: None)


def test_a_wrong_password_is_one_line(settings, as_admin, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "not-the-password")
    *_, last = lines(settings)
    assert last.startswith("FAIL") and "rejected (401)" in last


@pytest.fixture
def user_with(settings, as_admin, monkeypatch):
    """Log in as a new user holding `level` on the (now existing) experiment."""
    experiment_id = mlflow.MlflowClient(as_admin.url).create_experiment(
        settings.tracking.experiment
    )
    users = get_app_client("basic-auth", tracking_uri=as_admin.url)

    def create(level: str) -> None:
        name, password = f"user-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
        users.create_user(name, password)
        users.grant_user_permission(name, "experiment", experiment_id, level)
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", name)
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)

    return create


def test_a_member_may_log(settings, user_with):
    user_with("EDIT")
    *_, last = lines(settings)
    assert last.startswith("ok") and "EDIT on experiment" in last


def test_a_reader_is_told_runs_need_edit(settings, user_with):
    user_with("READ")
    *_, last = lines(settings)
    assert last.startswith("FAIL") and "READ permission" in last and "--role member" in last


def test_the_notebook_loads_none_of_the_central_pcs_modules():
    """Colab imports the glue on every run of the notebook: the server, its users, the tunnel
    and the backups are the central PC's, and stay unloaded."""
    loaded = subprocess.run(
        [sys.executable, "-c", f"import sys, {colab.__name__}; print(*sorted(sys.modules))"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    package = colab.__name__.rsplit(".", 1)[0]
    central_pc = {"tracking_server", "server_guard", "users", "tunnel", "backup", "doctor"}
    assert not {f"{package}.{name}" for name in central_pc} & set(loaded)
