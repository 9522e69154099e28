"""The upgrade drill on a real history: a database one MLflow schema behind (made with MLflow's
own alembic downgrade), upgraded by `mlops server upgrade`, verified, then rolled back."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest
from alembic import command
from mlflow import MlflowClient
from mlflow.store.db.utils import _get_alembic_config

from {{ cookiecutter.package_name }}.challenger import register_challenger
from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.registry import CHALLENGER
from {{ cookiecutter.package_name }}.server import LocalServer, known_revisions, options_from_settings, schema_problem
from {{ cookiecutter.package_name }}.train import train
from {{ cookiecutter.package_name }}.upgrade import counts

from .central_pc_fixtures import (
    client_as,
    config_for,
    one_line_error,
    server_of_its_own,
    write_config,
)
from .registry_state import version_of

pytestmark = pytest.mark.central_pc


def one_schema_back(db) -> None:
    command.downgrade(_get_alembic_config(f"sqlite:///{db.as_posix()}"), "-1")


def test_the_upgrade_drill_keeps_everything_and_rolls_back(settings, tmp_path, monkeypatch, capsys):
    with server_of_its_own(settings, tmp_path, monkeypatch) as (server, team, _):
        train(team, {})
        version = register_challenger(team).version
    db = server.paths.backend_db
    history = counts(db)
    one_schema_back(db)
    assert "out-of-date database schema" in schema_problem(db)
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME")
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD")
    config = config_for(server, tmp_path / "config", team, backup_dir=str(tmp_path / "bk"))
    as_team = ["--config", str(config), "server"]

    assert main([*as_team, "upgrade"]) == 0
    said = capsys.readouterr().out
    assert f"schema {known_revisions()[0]}" in said and "1 versions kept" in said
    assert schema_problem(db) is None and counts(db) == history
    options = options_from_settings(team)
    with LocalServer(server.paths, options, server.admin_password).start():
        client_as(monkeypatch, server.url, "admin", server.admin_password)
        assert version_of(team, CHALLENGER) == version
    assert main([*as_team, "upgrade"]) == 0
    assert "nothing to do" in capsys.readouterr().out

    backup = said.split("backed up in ")[1].split(":")[0]
    assert main([*as_team, "restore", backup]) == 0, "the roll back: the old schema returns"
    assert "out-of-date database schema" in schema_problem(db)
    assert counts(db) == history


def test_a_database_from_a_newer_mlflow_is_refused(tmp_path, capsys):
    db = tmp_path / "data" / "mlflow.db"
    db.parent.mkdir()
    MlflowClient(tracking_uri=f"sqlite:///{db.as_posix()}").search_experiments()
    with closing(sqlite3.connect(db)) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'f00dfeedbeef'")
        connection.commit()
    config = write_config(tmp_path / "config", data_dir=str(db.parent))
    capsys.readouterr()  # MLflow's own log of creating the tables
    assert main(["--config", str(config), "server", "upgrade"]) == 2
    assert "made by a newer MLflow" in one_line_error(capsys)
