"""The scale-out path: the tracking server on a real PostgreSQL instead of sqlite.

A throw-away PostgreSQL cluster (initdb + pg_ctl from the Debian package) is started on a free
127.0.0.1 port; the server runs with `[server] backend_store_uri` pointing at it.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.errors import BadInput
from {{ cookiecutter.package_name }}.server import (
    LocalServer,
    ServerPaths,
    free_port,
    options_from_settings,
    prepare,
)
from {{ cookiecutter.package_name }}.settings import load_settings
from {{ cookiecutter.package_name }}.train import train

from .conftest import PROJECT_ROOT, with_changes


def _postgres_binary(name: str) -> str | None:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found if isinstance(found, str) else (found[-1] if found else None)


INITDB, PG_CTL = _postgres_binary("initdb"), _postgres_binary("pg_ctl")
pytestmark = [
    pytest.mark.central_pc,
    pytest.mark.skipif(not (INITDB and PG_CTL), reason="needs PostgreSQL's initdb and pg_ctl"),
]


def _as_postgres(root: Path) -> list[str]:
    """PostgreSQL refuses to run as root: hand the folder to the `postgres` user."""
    if os.geteuid() != 0:
        return []
    shutil.chown(root, "postgres", "postgres")
    return ["runuser", "-u", "postgres", "--"]


@pytest.fixture(scope="module")
def postgres_uri():
    root = Path(tempfile.mkdtemp(prefix="mlops-pg-"))
    root.chmod(0o755)
    prefix, port = _as_postgres(root), free_port()
    data, log = root / "data", root / "server.log"
    run = lambda *args: subprocess.run(  # noqa: E731
        [*prefix, *args], check=True, capture_output=True, text=True, timeout=120
    )
    run(INITDB, "-D", str(data), "-A", "trust", "-U", "postgres")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
    run(PG_CTL, "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
    try:
        admin = f"dbname=postgres user=postgres host=127.0.0.1 port={port}"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute("CREATE DATABASE mlflow")
        yield f"postgresql://postgres@127.0.0.1:{port}/mlflow"
    finally:
        run(PG_CTL, "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


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
    shipped = (PROJECT_ROOT / "mlops.toml").read_text(encoding="utf-8")
    uri = "postgresql://mlflow:secret@db/mlflow"
    text = shipped.replace('backend_store_uri = ""', f'backend_store_uri = "{uri}"')
    (tmp_path / "mlops.toml").write_text(text, encoding="utf-8")
    with pytest.raises(BadInput, match="PGPASSWORD"):
        load_settings(tmp_path / "mlops.toml")


def test_backup_points_to_pg_dump_for_postgresql(settings):
    from {{ cookiecutter.package_name }}.backup import backup

    on_postgres = with_changes(settings, server={"backend_store_uri": "postgresql://u@h/db"})
    with pytest.raises(BadInput, match="pg_dump"):
        backup(on_postgres)
