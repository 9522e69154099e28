"""`mlops server upgrade`: bring the databases to the schema of the MLflow the project now pins.

The drill after `uv lock --upgrade-package mlflow` on the central PC: with the server stopped,
back up, upgrade a copy of the database with MLflow's own `mlflow db upgrade`, check that every
experiment, run, version and alias is still there, and only then swap the copy in (one atomic
rename). Killed at any point, the database is either the old one, untouched, or the new one,
whole: never a half-upgraded schema, and a rerun starts again from the old one. To roll back
later, pin the previous MLflow again and `mlops server restore` the backup it names.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from ..errors import BadInput
from ..process import dies_with_parent
from ..settings import Settings
from .backup import backup, copy_database, replace_database
from .lock import DataDirLock
from .tracking_server import ServerPaths, known_revisions, refuse_if_databases_open, schema_problem

UPGRADING = ".upgrading"
COUNTED = ("experiments", "runs", "metrics", "model_versions", "registered_model_aliases")


def counts(db: Path) -> dict[str, int]:
    """Rows a team would miss, table by table."""
    with closing(sqlite3.connect(db)) as connection:
        query = "SELECT count(*) FROM {}"  # table names from COUNTED, a constant
        return {t: connection.execute(query.format(t)).fetchone()[0] for t in COUNTED}


def upgrade(settings: Settings) -> str:
    """Upgrade the sqlite schema in place, or say why not; one line either way."""
    if settings.server.backend_store_uri:
        raise BadInput(
            "the backend is not sqlite: pg_dump it, then run `uv run mlflow db upgrade <URI>`"
        )
    paths = ServerPaths.from_settings(settings)
    problem = schema_problem(paths.backend_db) if paths.backend_db.is_file() else "missing"
    if problem is None:
        return f"{paths.backend_db} already has this MLflow's schema: nothing to do"
    if problem == "missing" or "newer MLflow" in problem:
        raise BadInput(problem if problem != "missing" else f"no database at {paths.backend_db}")
    with DataDirLock(paths.data_dir):
        refuse_if_databases_open(paths)
        before = counts(paths.backend_db)
        saved, _ = backup(settings)
        working = paths.backend_db.with_name(f"{paths.backend_db.name}{UPGRADING}")
        try:
            working.unlink(missing_ok=True)  # an earlier run's, killed part-way
            copy_database(paths.backend_db, working)
            _mlflow_db_upgrade(working)
            if schema_problem(working) or counts(working) != before:
                raise BadInput("the upgraded copy does not match the database")
        except BaseException as exc:
            working.unlink(missing_ok=True)
            if isinstance(exc, BadInput):
                raise BadInput(f"{exc}; {paths.backend_db} was not changed") from None
            raise
        replace_database(working, paths.backend_db)
    return (
        f"upgraded {paths.backend_db} to schema {(known_revisions() or ['?'])[0]} "
        f"({before['runs']} runs, {before['model_versions']} versions kept); the old one is "
        f"backed up in {saved}: to roll back, pin the previous MLflow and "
        f"`mlops server restore {saved}`"
    )


def _mlflow_db_upgrade(db: Path) -> None:
    command = [sys.executable, "-m", "mlflow", "db", "upgrade", f"sqlite:///{db.as_posix()}"]
    done = subprocess.run(command, capture_output=True, text=True, preexec_fn=dies_with_parent)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise BadInput(f"mlflow db upgrade failed: {last}")
