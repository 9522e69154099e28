"""The upgrade drill on a real history: a database one MLflow schema behind (made with MLflow's
own alembic downgrade), upgraded by `mlops server upgrade`, verified, then rolled back."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest
from alembic import command
from mlflow import MlflowClient
from mlflow.store.db.utils import _get_alembic_config, _verify_schema, create_sqlalchemy_engine

from {{ cookiecutter.package_name }}.challenger import register_challenger
from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.tracking_server import known_revisions, schema_problem
from {{ cookiecutter.package_name }}.train import train
from {{ cookiecutter.package_name }}.upgrade import counts

from .central_pc_fixtures import (
    one_line_error,
    write_config,
)

pytestmark = pytest.mark.central_pc


def one_schema_back(db) -> None:
    command.downgrade(_get_alembic_config(f"sqlite:///{db.as_posix()}"), "-1")


def copy_of(db, folder):
    """The shared server's history, copied as a backup would (the live server keeps running)."""
    folder.mkdir(parents=True)
    with closing(sqlite3.connect(db)) as live, closing(sqlite3.connect(folder / db.name)) as copy:
        live.backup(copy)
    return folder / db.name


def test_the_upgrade_drill_keeps_everything_and_rolls_back(settings, as_admin, tmp_path, capsys):
    train(settings, {})
    register_challenger(settings)
    db = copy_of(as_admin.paths.backend_db, tmp_path / "data")
    history = counts(db)
    assert history["model_versions"] >= 1
    one_schema_back(db)
    assert "out-of-date database schema" in schema_problem(db)
    config = write_config(
        tmp_path / "config", data_dir=str(db.parent), backup_dir=str(tmp_path / "bk")
    )
    as_team = ["--config", str(config), "server"]

    assert main([*as_team, "upgrade"]) == 0
    said = capsys.readouterr().out
    assert f"schema {known_revisions()[0]}" in said
    assert f"{history['model_versions']} versions kept" in said
    assert schema_problem(db) is None and counts(db) == history
    engine = create_sqlalchemy_engine(f"sqlite:///{db.as_posix()}")
    _verify_schema(engine)  # what the server checks when it starts
    engine.dispose()
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
