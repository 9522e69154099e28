"""`mlops doctor`: one line per check, each failure with its fix, the worst failure's exit code."""

from __future__ import annotations

import pytest
import requests

from {{ cookiecutter.package_name }} import doctor
from {{ cookiecutter.package_name }}.central_pc.users import add_user
from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.process import free_port
from {{ cookiecutter.package_name }}.tracking import probes

from ..central_pc_fixtures import PASSWORD, config_for, new_user, on_server, unique


@pytest.fixture
def team(settings, tracking_server, monkeypatch):
    """The test's settings on the test server, its experiment and model created by the admin."""
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    team = on_server(settings, tracking_server)
    add_user(team, unique("setup"), "reader", PASSWORD)
    return team


@pytest.fixture
def run_doctor(team, tracking_server, tmp_path, monkeypatch, capsys):
    """Run `mlops doctor` as `user`; (exit code, {check: line})."""

    def run(user: str, password: str, **values):
        monkeypatch.setenv(
            "MLOPS_CONFIG", str(config_for(tracking_server, tmp_path, team, **values))
        )
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user)
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)
        code = main(["doctor"])
        captured = capsys.readouterr()
        lines = {line[6:].split(":", 1)[0]: line for line in captured.out.splitlines()}
        if code:
            assert len(captured.err.strip().splitlines()) == 1, captured.err
        return code, lines

    return run


def test_everything_passes_for_a_member(team, run_doctor):
    user, password = new_user(team, "member")
    code, lines = run_doctor(user, password)
    assert code == 0, "\n".join(lines.values())
    for check in ("config", "data", "server reachable", "/health", "credentials"):
        assert lines[check].startswith("ok "), lines[check]
    assert f"EDIT on '{team.tracking.experiment}'" in lines["experiment permission"]
    assert f"READ on '{team.model.registered_name}'" in lines["model permission"]
    assert f"READ on '{team.tracking.decisions_experiment}'" in lines["decisions permission"]
    assert lines["tunnel"].startswith("skip") and lines["allowed hosts"].startswith("skip")
    disk = lines["disk space (data dir)"]
    assert disk.startswith("ok ") and "GiB free" in disk


def test_the_ci_user_edits_the_model(team, run_doctor):
    user, password = new_user(team, "ci")
    code, lines = run_doctor(user, password)
    assert code == 0
    assert f"EDIT on '{team.model.registered_name}'" in lines["model permission"]
    assert f"EDIT on '{team.tracking.decisions_experiment}'" in lines["decisions permission"]


def test_a_user_from_before_the_decisions_experiment_is_told_the_command(
    team, tracking_server, run_doctor
):
    user, password = new_user(team, "ci")
    auth = ("admin", tracking_server.admin_password)
    decisions = requests.get(
        f"{tracking_server.url}/api/2.0/mlflow/experiments/get-by-name", auth=auth, timeout=10,
        params={"experiment_name": team.tracking.decisions_experiment},
    ).json()["experiment"]["experiment_id"]  # fmt: skip
    requests.post(
        f"{tracking_server.url}/api/3.0/mlflow/users/permissions/revoke", auth=auth, timeout=10,
        json={"username": user, "resource_type": "experiment", "resource_id": decisions},
    ).raise_for_status()  # fmt: skip
    code, lines = run_doctor(user, password)
    assert code == 3
    assert "no permission (403)" in lines["decisions permission"]
    assert "mlops server set-role NAME --role ROLE" in lines["decisions permission"]


def test_a_wrong_password_fails_with_its_fix(team, run_doctor):
    user, _ = new_user(team, "member")
    code, lines = run_doctor(user, "not-the-password")
    assert code == 3
    assert lines["credentials"].startswith("FAIL") and "(401)" in lines["credentials"]
    assert "mlops server set-password" in lines["credentials"]
    assert "experiment permission" not in lines, "later server checks are not attempted"


def test_a_user_without_permissions_is_told_whom_to_ask(team, tracking_server, run_doctor):
    name = unique("nobody")
    requests.post(
        f"{tracking_server.url}/api/2.0/mlflow/users/create",
        json={"username": name, "password": PASSWORD},
        auth=("admin", tracking_server.admin_password), timeout=10,
    ).raise_for_status()  # fmt: skip
    code, lines = run_doctor(name, PASSWORD)
    assert code == 3
    assert "no permission" in lines["experiment permission"]
    assert "--role member" in lines["experiment permission"]


def test_an_unreachable_server_is_a_server_failure(team, run_doctor):
    user, password = new_user(team, "member")
    dead = f"http://127.0.0.1:{free_port()}"
    code, lines = run_doctor(user, password, uri=dead)
    assert code == 3
    assert lines["server reachable"].startswith("FAIL") and dead in lines["server reachable"]


def test_a_missing_experiment_is_a_config_failure(team, run_doctor):
    user, password = new_user(team, "member")
    code, lines = run_doctor(user, password, experiment=unique("nowhere"))
    assert code == 2
    assert "does not exist yet" in lines["experiment permission"]


def test_a_broken_config_is_one_failed_check(tmp_path, monkeypatch, capsys):
    (tmp_path / "mlops.toml").write_text("task = [", encoding="utf-8")
    monkeypatch.setenv("MLOPS_CONFIG", str(tmp_path / "mlops.toml"))
    assert main(["doctor"]) == 2
    out = capsys.readouterr().out
    assert out.startswith("FAIL  config:") and "not valid TOML" in out


def test_a_tunnel_domain_the_server_refuses_is_reported(tracking_server):
    verdict = doctor.allowed_host(tracking_server.url, "team.example.com")
    assert verdict.status == "FAIL" and verdict.code == 3
    assert "restart `mlops server start`" in verdict.fix
    assert doctor.allowed_host(tracking_server.url, "localhost").status == "ok"


def test_a_tunnel_that_does_not_answer_is_reported():
    verdict = doctor.tunnel_answers(f"http://127.0.0.1:{free_port()}")
    assert verdict.status == "FAIL" and "mlops tunnel" in verdict.fix


def test_low_disk_space_is_reported(team, monkeypatch):
    monkeypatch.setattr(doctor, "MIN_FREE_BYTES", 1 << 62)  # more than any disk has
    checks = list(doctor.disk_space(team))
    assert [v.status for v in checks] == ["FAIL", "FAIL"]
    assert probes.worst(checks) == 2


def test_files_other_users_could_read_are_reported_with_the_fix(settings, pending_folder):
    saved = pending_folder / "20260101-000000-abcdef"
    saved.mkdir(parents=True, mode=0o700)
    pending_folder.chmod(0o700)
    (saved / "train.parquet").write_bytes(b"rows")
    (saved / "train.parquet").chmod(0o644)
    verdict = doctor.file_modes(settings)
    assert verdict.status == "FAIL" and verdict.code == 2
    assert "train.parquet" in verdict.detail and verdict.fix.startswith("chmod -R go-rwx ")
    (saved / "train.parquet").chmod(0o600)
    assert doctor.file_modes(settings).status == "ok"
