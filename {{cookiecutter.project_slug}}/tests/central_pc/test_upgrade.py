"""The upgrade drill on a real history: a database one MLflow schema behind (made with MLflow's
own alembic downgrade), upgraded by `mlops server upgrade`, verified, then rolled back."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from contextlib import closing

import pytest
from alembic import command
from mlflow import MlflowClient
from mlflow.store.db.utils import _get_alembic_config, _verify_schema, create_sqlalchemy_engine

from {{ cookiecutter.package_name }}.central_pc.tracking_server import known_revisions, schema_problem
from {{ cookiecutter.package_name }}.central_pc.upgrade import counts
from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.experiments.train import train
from {{ cookiecutter.package_name }}.registry.challenger import register_challenger

from ..central_pc_fixtures import (
    MLOPS,
    one_line_error,
    process_running,
    project_env,
    write_config,
)


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


def the_upgrade_child() -> int | None:
    """The pid of a running `mlflow db upgrade` (the step that writes the schema)."""
    return process_running(
        lambda argv: b"db" in argv and b"upgrade" in argv
        and any(a.endswith(b".upgrading") for a in argv)
    )  # fmt: skip


def tables(db) -> set[str]:
    with closing(sqlite3.connect(db)) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}


@pytest.mark.parametrize("victim", ["the command", "its mlflow db upgrade"])
def test_an_upgrade_killed_midway_leaves_the_old_database_and_a_rerun_completes(
    settings, as_admin, tmp_path, victim
):
    """kill -9 while MLflow writes the new schema: the database is the old one, untouched
    (no `_alembic_tmp_*` table, the old revision, every row), then a rerun upgrades it whole."""
    train(settings, {})
    db = copy_of(as_admin.paths.backend_db, tmp_path / "data")
    history = counts(db)
    one_schema_back(db)
    old_revision, old_tables = schema_problem(db), tables(db)
    config = write_config(
        tmp_path / "config", data_dir=str(db.parent), backup_dir=str(tmp_path / "bk")
    )
    command = [MLOPS, "--config", str(config), "server", "upgrade"]
    upgrade = subprocess.Popen(
        command, env=project_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline, child = time.monotonic() + 300, None
    while child is None and upgrade.poll() is None and time.monotonic() < deadline:
        child = the_upgrade_child()
        time.sleep(0.05)
    assert child is not None, "the upgrade never reached mlflow db upgrade"
    time.sleep(1.0)  # MLflow is importing or migrating
    os.kill(upgrade.pid if victim == "the command" else child, signal.SIGKILL)
    upgrade.communicate(timeout=120)
    assert upgrade.returncode != 0
    for _ in range(100):  # the kernel ends the orphan with its parent (PR_SET_PDEATHSIG)
        if the_upgrade_child() is None:
            break
        time.sleep(0.1)
    assert the_upgrade_child() is None, "mlflow db upgrade outlived the command"
    assert schema_problem(db) == old_revision and tables(db) == old_tables
    assert counts(db) == history

    rerun = subprocess.run(command, env=project_env(), capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert schema_problem(db) is None and counts(db) == history
    assert not [t for t in tables(db) if t.startswith("_alembic_tmp")]
    assert not list(db.parent.glob("*.upgrading"))
