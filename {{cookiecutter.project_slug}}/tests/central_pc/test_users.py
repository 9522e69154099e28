"""Users and roles: what each role may do on a real basic-auth server, and the admin commands."""

from __future__ import annotations

import secrets

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.server import get_app_client

from {{ cookiecutter.package_name }}.central_pc.users import ROLES, add_user, admin
from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.errors import BadInput

from ..central_pc_fixtures import (
    PASSWORD,
    client_as,
    config_for,
    feed_stdin,
    new_user,
    on_server,
    one_line_error,
    status,
    unique,
)

DENIED = r"403|PERMISSION_DENIED"


@pytest.fixture
def team(settings, tracking_server, monkeypatch):
    """The test's settings on the test server; admin credentials from the data dir's file."""
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    return on_server(settings, tracking_server)


@pytest.fixture
def registry(team, tracking_server, monkeypatch):
    """A run and a registered version of the test's model, made by the admin."""
    client = client_as(monkeypatch, tracking_server.url, "admin", tracking_server.admin_password)
    add_user(team, unique("setup"), "reader", PASSWORD)  # creates experiment and model
    experiment = client.get_experiment_by_name(team.tracking.experiment)
    run = client.create_run(experiment.experiment_id)
    name = team.model.registered_name
    version = client.create_model_version(name, f"{run.info.artifact_uri}/model", run.info.run_id)
    client.set_registered_model_alias(name, "champion", version.version)
    return experiment.experiment_id, version.version


@pytest.fixture
def cli_config(team, tracking_server, tmp_path, monkeypatch):
    path = config_for(tracking_server, tmp_path, team)
    monkeypatch.setenv("MLOPS_CONFIG", str(path))
    return path


def test_the_roles_are_least_privilege():
    grants = {role: tuple(ROLES[role].values()) for role in ROLES}
    # experiment, decisions, registered model: only CI writes decisions and moves aliases
    assert grants == {
        "reader": ("READ", "READ", "READ"),
        "member": ("EDIT", "READ", "READ"),
        "ci": ("READ", "EDIT", "EDIT"),
    }
    kinds = ["experiment", "decisions", "registered_model"]
    assert all(list(ROLES[role]) == kinds for role in ROLES)


def decisions_id(client: MlflowClient, team) -> str:
    return client.get_experiment_by_name(team.tracking.decisions_experiment).experiment_id


@pytest.mark.parametrize("role", ["reader", "member"])
def test_readers_and_members_read_the_decisions_but_cannot_log_one(
    team, registry, tracking_server, monkeypatch, role
):
    name, password = new_user(team, role)
    user = client_as(monkeypatch, tracking_server.url, name, password)
    decisions = decisions_id(user, team)
    assert user.search_runs([decisions]) == []
    with pytest.raises(MlflowException, match=DENIED):
        user.create_run(decisions)


def test_ci_logs_decisions_but_no_run_of_the_team_experiment(
    team, registry, tracking_server, monkeypatch
):
    experiment_id, _ = registry
    name, password = new_user(team, "ci")
    ci = client_as(monkeypatch, tracking_server.url, name, password)
    run = ci.create_run(decisions_id(ci, team))
    ci.set_terminated(run.info.run_id)
    with pytest.raises(MlflowException, match=DENIED):
        ci.create_run(experiment_id)


def test_a_reader_reads_but_cannot_log_or_move_aliases(
    team, registry, tracking_server, monkeypatch
):
    experiment_id, version = registry
    name, password = new_user(team, "reader")
    reader = client_as(monkeypatch, tracking_server.url, name, password)
    assert reader.get_experiment(experiment_id).name == team.tracking.experiment
    assert reader.get_model_version_by_alias(team.model.registered_name, "champion").version
    with pytest.raises(MlflowException, match=DENIED):
        reader.create_run(experiment_id)
    with pytest.raises(MlflowException, match=DENIED):
        reader.set_registered_model_alias(team.model.registered_name, "challenger", version)


def test_a_member_logs_runs_but_cannot_move_aliases(team, registry, tracking_server, monkeypatch):
    experiment_id, version = registry
    name, password = new_user(team, "member")
    member = client_as(monkeypatch, tracking_server.url, name, password)
    run = member.create_run(experiment_id)
    member.log_metric(run.info.run_id, "f1", 0.5)
    member.set_terminated(run.info.run_id)
    assert member.get_run(run.info.run_id).data.metrics["f1"] == 0.5
    with pytest.raises(MlflowException, match=DENIED):
        member.set_registered_model_alias(team.model.registered_name, "champion", version)


def test_ci_moves_aliases_but_cannot_delete_grant_or_log(
    team, registry, tracking_server, monkeypatch
):
    experiment_id, version = registry
    model = team.model.registered_name
    name, password = new_user(team, "ci")
    ci = client_as(monkeypatch, tracking_server.url, name, password)
    ci.set_registered_model_alias(model, "previous-champion", version)
    ci.set_registered_model_alias(model, "champion", version)
    assert ci.get_model_version_by_alias(model, "champion").version == version
    for attempt in (
        lambda: ci.create_run(experiment_id),
        lambda: ci.delete_registered_model_alias(model, "previous-champion"),
        lambda: ci.delete_model_version(model, version),
        lambda: ci.delete_registered_model(model),
    ):
        with pytest.raises(MlflowException, match=DENIED):
            attempt()
    grants = get_app_client("basic-auth", tracking_uri=tracking_server.url)
    with pytest.raises(MlflowException, match=DENIED):
        grants.grant_user_permission(name, "registered_model", model, "MANAGE")
    assert ci.get_registered_model(model).name == model


def test_add_user_creates_the_experiment_and_model_it_grants_on(team, tracking_server, monkeypatch):
    name, password = new_user(team, "member")
    member = client_as(monkeypatch, tracking_server.url, name, password)
    assert member.get_experiment_by_name(team.tracking.experiment) is not None
    assert member.get_registered_model(team.model.registered_name).name


# --- the commands -----------------------------------------------------------------------------


def test_add_user_reads_the_password_from_stdin(cli_config, tracking_server, monkeypatch, capsys):
    name = unique("piped")
    feed_stdin(monkeypatch, PASSWORD + "\n")
    assert main(["server", "add-user", name, "--role", "reader"]) == 0
    assert f"created '{name}' as reader" in capsys.readouterr().out
    assert status(tracking_server.url, (name, PASSWORD)) == 200


def test_set_password_replaces_the_old_one(team, cli_config, tracking_server, monkeypatch, capsys):
    name, old = new_user(team, "member")
    new = secrets.token_urlsafe(18)
    feed_stdin(monkeypatch, f"{new}\n")
    assert main(["server", "set-password", name]) == 0
    assert status(tracking_server.url, (name, new)) == 200
    assert status(tracking_server.url, (name, old)) == 401


def test_set_role_changes_a_users_grants_and_a_rerun_changes_nothing(
    team, cli_config, registry, tracking_server, monkeypatch, capsys
):
    experiment_id, _ = registry
    name, password = new_user(team, "reader")
    for _ in range(2):
        assert main(["server", "set-role", name, "--role", "member"]) == 0
        assert f"'{name}' is now member: EDIT on experiment" in capsys.readouterr().out
    member = client_as(monkeypatch, tracking_server.url, name, password)
    member.set_terminated(member.create_run(experiment_id).info.run_id)
    with pytest.raises(MlflowException, match=DENIED):
        member.create_run(decisions_id(member, team))


def test_remove_user_locks_them_out(team, cli_config, tracking_server, capsys):
    name, password = new_user(team, "member")
    assert main(["server", "remove-user", name]) == 0
    assert status(tracking_server.url, (name, password)) == 401


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["add-user", "{existing}"], PASSWORD, "already exists"),
        (["add-user", unique("short")], "short", "at least 12 characters"),
        (["add-user", unique("empty")], "", "at least 12 characters"),
        (["add-user", "bad:name"], PASSWORD, "invalid user name"),
        (["set-password", unique("ghost")], PASSWORD, "no user"),
        (["set-role", unique("ghost"), "--role", "ci"], "", "no user"),
        (["remove-user", unique("ghost")], "", "no user"),
        (["remove-user", "admin"], "", "cannot remove itself"),
    ],
    ids=["exists", "short", "empty", "bad-name", "set-ghost", "role-ghost", "remove-ghost",
         "remove-admin"],
)  # fmt: skip
def test_bad_user_commands_are_one_line_and_exit_2(
    team, cli_config, monkeypatch, capsys, args, stdin, message
):
    existing, _ = new_user(team, "reader")
    feed_stdin(monkeypatch, stdin + "\n")
    argv = ["server", *(arg.replace("{existing}", existing) for arg in args)]
    assert main(argv) == 2
    assert message in one_line_error(capsys)


def test_wrong_admin_credentials_are_a_server_error(cli_config, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "not-the-admin-password")
    feed_stdin(monkeypatch, PASSWORD + "\n")
    assert main(["server", "add-user", unique("x")]) == 3
    assert "401" in one_line_error(capsys)


def test_a_members_exported_login_is_named_when_an_admin_verb_is_refused(
    team, cli_config, monkeypatch, capsys
):
    name, password = new_user(team, "member")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", name)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)
    feed_stdin(monkeypatch, PASSWORD + "\n")
    assert main(["server", "add-user", unique("x")]) == 3
    error = one_line_error(capsys)
    assert "(403)" in error and f"exported in MLFLOW_TRACKING_USERNAME ({name!r})" in error


def test_without_the_admin_password_file_it_says_what_to_do(team, tmp_path):
    elsewhere = team.replace("server", data_dir=str(tmp_path))
    with pytest.raises(BadInput, match="run `mlops server start` on this PC first"):
        admin(elsewhere)


def test_nothing_is_left_behind_when_the_server_refuses(cli_config, tracking_server, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", tracking_server.admin_password)
    client = MlflowClient(tracking_uri=tracking_server.url)
    before = len(client.search_experiments())
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "not-the-admin-password")
    feed_stdin(monkeypatch, PASSWORD + "\n")
    assert main(["server", "add-user", unique("x")]) == 3
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", tracking_server.admin_password)
    assert len(client.search_experiments()) == before
