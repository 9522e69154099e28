"""The `mlops` command: every outcome is an exit code and, when non-zero, one line on stderr."""

import contextlib
import re
import secrets
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.server import get_app_client

from {{ cookiecutter.package_name }} import cli
from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.experiments.train import train
from {{ cookiecutter.package_name }}.process import free_port
from {{ cookiecutter.package_name }}.registry.challenger import register_challenger

from .central_pc_fixtures import MLOPS, project_env
from .project import with_changes

VERBS = [
    "train", "tune", "upload-pending", "register-challenger", "promote", "rollback", "status",
    "demo", "doctor", "tunnel", "serve", "server", "server start", "server add-user",
    "server set-password", "server remove-user", "server backup", "server restore",
]  # fmt: skip


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_has_help(verb, capsys):
    assert main([*verb.split(), "--help"]) == 0
    assert "Usage: mlops" in capsys.readouterr().out


def test_an_unknown_parameter_is_bad_input(capsys, as_admin):
    assert main(["train", "--set", "no_such_param=1"]) == 2
    assert "unknown parameter 'no_such_param'" in one_line_error(capsys)


def test_an_unknown_option_is_bad_input(capsys):
    assert main(["train", "--no-such-option"]) == 2
    assert "no such option" in one_line_error(capsys).lower()


def test_a_malformed_config_is_bad_input(tmp_path, monkeypatch, capsys):
    (tmp_path / "mlops.toml").write_text("task = [", encoding="utf-8")
    monkeypatch.setenv("MLOPS_CONFIG", str(tmp_path / "mlops.toml"))
    assert main(["status"]) == 2
    assert "not valid TOML" in one_line_error(capsys)


def test_an_unreachable_server_is_reported_quickly(monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    assert main(["train"]) == 3
    elapsed = time.monotonic() - started
    assert "cannot reach the tracking server" in one_line_error(capsys)
    assert elapsed < 60, "retries must not take MLflow's default minutes"


class HungServer(threading.Thread):
    """Accepts connections and never answers: a stalled tunnel, a hung process. Counts them."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.held: list[socket.socket] = []

    def run(self) -> None:
        with contextlib.suppress(OSError):  # the listener closed: the test is over
            while True:
                self.held.append(self.listener.accept()[0])

    def close(self) -> None:
        self.listener.close()
        for connection in self.held:
            connection.close()


HUNG_VERBS = [["status"], ["register-challenger"], ["promote"], ["rollback"], ["train"],
              ["tune", "--trials", "1"], ["serve", "--port", str(free_port())]]  # fmt: skip


@pytest.mark.central_pc  # task-independent: run once per template suite
def test_a_server_that_never_answers_costs_each_verb_one_request():
    """Every verb meets the hung server with one request and gives up on its timeout, instead
    of MLflow's retries of it (minutes); all verbs at once, each as its own command."""
    hung = HungServer()
    hung.start()
    try:
        pipes = {"text": True, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE,
                 "env": project_env(MLFLOW_TRACKING_URI=hung.url)}  # fmt: skip
        verbs = {verb[0]: subprocess.Popen([MLOPS, *verb], **pipes) for verb in HUNG_VERBS}
        said = {name: verb.communicate(timeout=300)[1].strip() for name, verb in verbs.items()}
        requests_made = len(hung.held)
    finally:
        hung.close()
    for name, verb in verbs.items():
        assert verb.returncode == 3, (name, said[name])
        assert len(said[name].splitlines()) == 1 and "timed out" in said[name], (name, said)
    assert requests_made == len(HUNG_VERBS), "one unanswered first request each, no retries"


def test_wrong_credentials_are_a_server_error(as_admin, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "not-the-password")
    assert main(["train"]) == 3
    assert "rejected the password of 'admin' (401)" in one_line_error(capsys)


def test_missing_credentials_are_told_apart_from_wrong_ones(as_admin, monkeypatch, capsys):
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD")
    assert main(["status"]) == 3
    assert "needs a login (401) and none is set" in one_line_error(capsys)


def test_an_unreachable_local_server_says_how_to_start_one(monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    assert main(["status"]) == 3
    assert "mlops server start" in one_line_error(capsys)


def test_the_version_and_the_verbs_in_workflow_order(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("mlops 0.1.0 (MLflow ")
    assert main(["--help"]) == 0
    listed = re.findall(r"(?m)^  ([a-z-]+)  ", capsys.readouterr().out)
    assert listed[:7] == ["demo", "train", "tune", "upload-pending", "register-challenger",
                          "promote", "rollback"]  # fmt: skip


def test_a_run_prints_its_id_and_link(as_admin, capsys, monkeypatch):
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "")
    assert main(["train", "--run-name", "cli-run"]) == 0
    out = capsys.readouterr().out
    assert "run " in out and f"{as_admin.url}/#/experiments/" in out


def test_an_unexpected_error_is_code_4_with_the_traceback_in_a_file(monkeypatch, capsys):
    def explode(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "load_settings", explode)
    assert main(["status"]) == 4
    line = one_line_error(capsys)
    assert "RuntimeError: boom" in line
    path = Path(line.rsplit("traceback: ", 1)[1].rstrip(")"))
    assert "Traceback" in path.read_text(encoding="utf-8")
    assert path.stat().st_mode & 0o077 == 0 and path.parent.stat().st_mode & 0o077 == 0
    assert main(["status"]) == 4
    again = Path(one_line_error(capsys).rsplit("traceback: ", 1)[1].rstrip(")"))
    assert again != path and again.parent == path.parent, "a new, unpredictable name each time"


def test_a_user_who_may_not_move_aliases_gets_403_and_nothing_moves(
    settings, as_admin, monkeypatch, capsys
):
    settings = with_changes(settings, promotion={"min_value": None})
    train(settings, {})
    register_challenger(settings)
    user, password = f"viewer-{settings.model.registered_name}", secrets.token_urlsafe(18)
    auth = get_app_client("basic-auth", tracking_uri=as_admin.url)
    auth.create_user(user, password)
    experiment = MlflowClient().get_experiment_by_name(settings.tracking.experiment)
    auth.grant_user_permission(user, "experiment", experiment.experiment_id, "READ")
    auth.grant_user_permission(user, "registered_model", settings.model.registered_name, "READ")

    monkeypatch.setattr(cli, "load_settings", lambda *_args: settings)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)
    capsys.readouterr()  # the set-up's download progress
    assert main(["promote"]) == 3
    refusal = one_line_error(capsys)
    assert "denied the request (403): this needs the ci role" in refusal
    assert f"which {user!r} lacks" in refusal and "add-user NAME --role ci" in refusal

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", as_admin.admin_password)
    model = MlflowClient().get_registered_model(settings.model.registered_name)
    assert "champion" not in model.aliases


def test_registry_commands_report_an_unreachable_server(monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # the defaults are tested above
    for verb in ("register-challenger", "promote", "rollback", "status"):
        assert main([verb]) == 3, verb
        assert "cannot reach the tracking server" in one_line_error(capsys)
