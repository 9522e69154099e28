"""Whose fault a failure is: a full disk on this machine is named with its folder, and only the
server's own answer says the server is full."""

import errno
import tempfile

import pytest
from mlflow.exceptions import MlflowException, RestException

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.errors import BadInput, ServerUnavailable
from {{ cookiecutter.package_name }}.experiments.train import train
from {{ cookiecutter.package_name }}.registry.challenger import register_challenger
from {{ cookiecutter.package_name }}.tracking.connection import translate

from ..central_pc_fixtures import config_for, full_disk

URI = "http://127.0.0.1:5000"


def wrapped_by_mlflow(error: OSError) -> MlflowException:
    """What MLflow raises when a download fails on this machine: its own exception."""
    try:
        raise error
    except OSError as exc:
        try:
            raise MlflowException(f"failed to download: {exc}") from exc
        except MlflowException as wrapped:
            return wrapped


def test_a_full_local_disk_is_this_machines_and_names_the_folder():
    full = OSError(errno.ENOSPC, "No space left on device", "/tmp/mlops-x/model.skops")
    said = translate(wrapped_by_mlflow(full), URI)
    assert isinstance(said, BadInput) and "no space left in /tmp/mlops-x on this machine" in str(
        said
    )


def test_only_the_servers_answer_says_the_server_is_full():
    answer = RestException({"error_code": "INTERNAL_ERROR", "message": "database or disk is full"})
    said = translate(answer, URI)
    assert isinstance(said, ServerUnavailable) and said.exit_code == 3
    assert "the tracking server at" in str(said) and "no disk space left" in str(said)


@pytest.mark.central_pc
def test_promote_with_a_full_temp_folder_blames_the_temp_folder(
    settings, as_admin, tmp_path, monkeypatch, capsys
):
    train(settings, {})
    register_challenger(settings)
    monkeypatch.setenv("MLOPS_CONFIG", str(config_for(as_admin, tmp_path / "config", settings)))
    with full_disk(tmp_path / "small") as small:
        monkeypatch.setattr(tempfile, "tempdir", str(small))
        assert main(["promote"]) == 2
        said = capsys.readouterr().err.strip().splitlines()[-1]  # after MLflow's own log
    assert str(small) in said and "no space left" in said and "tracking server" not in said
