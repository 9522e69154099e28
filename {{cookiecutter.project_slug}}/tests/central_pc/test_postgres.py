"""The scale-out path: the tracking server on a real PostgreSQL instead of sqlite.

A throw-away PostgreSQL cluster (`postgres_cluster`) holds a database per test; the server runs
with `[server] backend_store_uri` pointing at it, and `mlops server migrate` moves a sqlite
history into one.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from contextlib import closing

import psycopg
import pytest
import sqlalchemy
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.central_pc.tracking_server import (
    LocalServer,
    ServerPaths,
    options_from_settings,
    prepare,
)
from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.errors import BadInput
from {{ cookiecutter.package_name }}.experiments.train import train
from {{ cookiecutter.package_name }}.process import free_port
from {{ cookiecutter.package_name }}.registry.challenger import register_challenger
from {{ cookiecutter.package_name }}.settings import load_settings

from ..central_pc_fixtures import (
    MLOPS,
    client_as,
    config_for,
    new_user,
    on_server,
    one_line_error,
    project_env,
    server_of_its_own,
    unique,
)
from ..long_history import write_history
from ..postgres_cluster import AVAILABLE
from ..project import PLATFORM_CONFIG, with_changes

pytestmark = [
    pytest.mark.skipif(not AVAILABLE, reason="needs PostgreSQL's initdb and pg_ctl"),
]


@pytest.fixture(scope="module")
def postgres_uri(postgres):
    return postgres.database()


def test_runs_land_in_postgresql_not_in_sqlite(settings, postgres_uri, tmp_path, monkeypatch):
    settings = with_changes(settings, server={"backend_store_uri": postgres_uri})
    paths = ServerPaths(tmp_path / "data", tmp_path / "artifacts")
    options = options_from_settings(settings, port=free_port())
    password, _ = prepare(paths, options)
    with LocalServer(paths, options, password).start() as server:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)
        local = with_changes(settings, tracking={"uri": server.url})
        result = train(local, {})
        assert MlflowClient(server.url).get_run(result.run_id).info.status == "FINISHED"
    with psycopg.connect(postgres_uri) as connection:
        row = connection.execute(
            "SELECT status FROM runs WHERE run_uuid = %s", (result.run_id,)
        ).fetchone()
    assert row == ("FINISHED",)
    assert not paths.backend_db.exists()


def test_the_database_password_never_goes_in_the_file(tmp_path):
    shipped = PLATFORM_CONFIG.read_text(encoding="utf-8")
    uri = "postgresql://mlflow:secret@db/mlflow"
    text = shipped.replace('backend_store_uri = ""', f'backend_store_uri = "{uri}"')
    (tmp_path / "mlops.toml").write_text(text, encoding="utf-8")
    with pytest.raises(BadInput, match="PGPASSWORD"):
        load_settings(tmp_path / "mlops.toml")


def test_backup_points_to_pg_dump_for_postgresql(settings):
    from {{ cookiecutter.package_name }}.central_pc.backup import backup

    on_postgres = with_changes(settings, server={"backend_store_uri": "postgresql://u@h/db"})
    with pytest.raises(BadInput, match="pg_dump"):
        backup(on_postgres)


def history(client: MlflowClient, settings) -> dict:
    """What a team would check after moving: runs with their metrics, versions and aliases."""
    experiment = client.get_experiment_by_name(settings.tracking.experiment)
    runs = client.search_runs([experiment.experiment_id])
    model = client.get_registered_model(settings.model.registered_name)
    versions = client.search_model_versions(f"name = '{settings.model.registered_name}'")
    return {
        "experiment": experiment.experiment_id,
        "runs": {run.info.run_id: (run.info.status, run.data.metrics) for run in runs},
        "versions": sorted((v.version, v.run_id, v.source) for v in versions),
        "aliases": model.aliases,
    }


def test_migrate_moves_the_history_and_every_grant_still_holds(
    settings, postgres, tmp_path, monkeypatch, capsys
):
    paths = ServerPaths(tmp_path / "data", tmp_path / "artifacts")
    options = options_from_settings(settings, port=free_port())
    password, _ = prepare(paths, options)
    with LocalServer(paths, options, password).start() as server:
        team = on_server(with_changes(settings, tracking={"uri": server.url}), server)
        users = {role: new_user(team, role) for role in ("member", "ci")}
        admin = client_as(monkeypatch, server.url, "admin", password)
        monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
        for _ in range(2):
            train(team, {})
        version = register_challenger(team).version
        admin.set_registered_model_alias(team.model.registered_name, "champion", version)
        before = history(admin, team)
    config = config_for(server, tmp_path / "config", team)
    target = postgres.database()
    assert main(["--config", str(config), "server", "migrate", target]) == 0
    assert "into PostgreSQL" in capsys.readouterr().out
    assert main(["--config", str(config), "server", "migrate", target]) == 2
    assert "already holds 2 runs" in one_line_error(capsys)

    options = options_from_settings(with_changes(team, server={"backend_store_uri": target}))
    with LocalServer(paths, options, password).start() as server:
        assert history(admin, team) == before
        member = client_as(monkeypatch, server.url, *users["member"])
        run = member.create_run(before["experiment"])  # ids kept: the grant still points at it
        member.set_terminated(run.info.run_id)
        ci = client_as(monkeypatch, server.url, *users["ci"])
        ci.set_registered_model_alias(team.model.registered_name, "challenger", version)
        admin = client_as(monkeypatch, server.url, "admin", password)
        assert int(admin.create_experiment(unique("after"))) > int(before["experiment"])
    with psycopg.connect(target) as connection:
        assert connection.execute("SELECT count(*) FROM runs").fetchone() == (3,)


def test_migrate_refuses_while_the_server_runs(
    settings, tracking_server, postgres, tmp_path, capsys
):
    config = config_for(tracking_server, tmp_path, settings)
    assert main(["--config", str(config), "server", "migrate", postgres.database()]) == 2
    assert "is in use by another server" in one_line_error(capsys)


def test_migrate_names_values_postgresql_cannot_hold_and_writes_nothing(
    settings, postgres, tmp_path, monkeypatch, capsys
):
    """sqlite keeps a value longer than MLflow's schema declares (written around MLflow's API,
    or by an older MLflow); PostgreSQL would refuse it mid-copy. Found first, named, nothing
    written; once it is shortened, the same target takes the whole history."""
    paths = ServerPaths(tmp_path / "data", tmp_path / "artifacts")
    options = options_from_settings(settings, port=free_port())
    password, _ = prepare(paths, options)
    with LocalServer(paths, options, password).start() as server:
        team = on_server(with_changes(settings, tracking={"uri": server.url}), server)
        client_as(monkeypatch, server.url, "admin", password)
        monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
        run_id = train(team, {}).run_id
    with closing(sqlite3.connect(paths.backend_db)) as db, db:
        db.execute(
            "INSERT INTO tags (key, value, run_uuid) VALUES (?, 'x', ?)", ("k" * 300, run_id)
        )
    config, target = config_for(server, tmp_path / "config", team), postgres.database()
    assert main(["--config", str(config), "server", "migrate", target]) == 2
    said = capsys.readouterr().err.strip().splitlines()[-1]  # after MLflow's own log
    assert "1 rows of tags.key are longer than the 250 characters" in said
    with psycopg.connect(target) as connection:
        assert connection.execute("SELECT count(*) FROM runs").fetchone() == (0,)
    with closing(sqlite3.connect(paths.backend_db)) as db, db:
        db.execute("UPDATE tags SET key = 'shortened' WHERE run_uuid = ? AND length(key) > 250",
                   (run_id,))  # fmt: skip
    assert main(["--config", str(config), "server", "migrate", target]) == 0


METRIC_ROWS = 200_000
WRITTEN_BY_MLFLOW = {
    "experiments", "experiment_tags", "runs", "params", "metrics", "latest_metrics", "tags",
    "datasets", "inputs", "input_tags", "logged_models", "logged_model_params",
    "logged_model_metrics", "logged_model_tags", "registered_models", "registered_model_tags",
    "model_versions", "model_version_tags", "registered_model_aliases", "trace_info",
    "trace_tags", "trace_request_metadata", "spans", "assessments", "evaluation_datasets",
    "evaluation_dataset_records", "evaluation_dataset_tags",
}  # fmt: skip


def table_rows(uri: str) -> dict[str, list[str]]:
    """Every table's rows, in a comparable order, as sqlalchemy reads them on either side."""
    engine, metadata = sqlalchemy.create_engine(uri), sqlalchemy.MetaData()
    try:
        with engine.connect() as connection:
            metadata.reflect(connection)
            return {
                table.name: sorted(repr(tuple(row)) for row in connection.execute(table.select()))
                for table in metadata.sorted_tables
                if table.name != "alembic_version"
            }
    finally:
        engine.dispose()


def copying_into(target: str, table: str) -> bool:
    """The migrate's connection is inserting into `table` of the target database right now."""
    database = target.rsplit("/", 1)[1]
    with psycopg.connect(target.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        return bool(admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND query ILIKE %s",
            (database, f"INSERT INTO {table}%"),
        ).fetchone()[0])  # fmt: skip


def drop_connections(target: str) -> None:
    database = target.rsplit("/", 1)[1]
    with psycopg.connect(target.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (database,),
        )


def test_a_long_history_migrates_table_for_table_also_after_a_cut(
    settings, postgres, tmp_path, monkeypatch, capsys
):
    """Runs, datasets, logged models, the registry, traces, assessments, an evaluation dataset
    and 200,000 metric rows: cut mid-copy (PostgreSQL drops the connection; the command is
    killed), the target holds nothing and a rerun copies every table row for row."""
    with server_of_its_own(settings, tmp_path, monkeypatch) as (server, team, client):
        write_history(team, client, METRIC_ROWS)
    config = config_for(server, tmp_path / "config", team)
    source = table_rows(f"sqlite:///{server.paths.backend_db.as_posix()}")
    assert {name for name, rows in source.items() if rows} >= WRITTEN_BY_MLFLOW
    assert len(source["metrics"]) > METRIC_ROWS
    for cut in ("PostgreSQL drops the connection", "kill -9 of the command"):
        target = postgres.database()
        migrate = subprocess.Popen([MLOPS, "--config", str(config), "server", "migrate", target],
                                   env=project_env(), stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + 300
        while not copying_into(target, "metrics") and time.monotonic() < deadline:
            assert migrate.poll() is None, migrate.stderr.read()
            time.sleep(0.02)
        if cut == "PostgreSQL drops the connection":
            drop_connections(target)
            said = migrate.communicate(timeout=120)[1].strip().splitlines()[-1]
            assert migrate.returncode == 3 and "stopped answering during the copy" in said, said
        else:
            os.killpg(migrate.pid, signal.SIGKILL)
            migrate.communicate(timeout=120)
        with psycopg.connect(target) as connection:
            assert connection.execute("SELECT count(*) FROM metrics").fetchone() == (0,)
        assert main(["--config", str(config), "server", "migrate", target]) == 0, cut
        assert table_rows(target) == source, cut
