"""`mlops server migrate`: move the team's sqlite history to PostgreSQL, ids and all.

MLflow has no migration tool between databases. Both sides share MLflow's own schema, so this
creates it in the empty PostgreSQL database with MLflow's store (the same revision as the
sqlite file, which must be current), then copies every table row for row in foreign-key order
and moves PostgreSQL's id counters past the copied ids. Experiment ids, run ids, model versions
and aliases stay the same, so the users and grants in `auth.db` (which stays in the data dir)
still point at the right experiment and model.

The sqlite file is only read: going back is removing `backend_store_uri` from `mlops.toml`.
The copy is one transaction: PostgreSQL going away mid-copy leaves it empty (exit 3) and a rerun
starts again. sqlite does not enforce the lengths MLflow's schema declares and PostgreSQL does, so
values too long for their column are found before anything is written, and named.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy
from sqlalchemy import MetaData, func, insert, select, text
from sqlalchemy.exc import OperationalError

from ..errors import BadInput, ServerUnavailable
from ..settings import Settings
from .lock import DataDirLock
from .tracking_server import ServerPaths, refuse_if_databases_open, schema_problem

BATCH_ROWS = 5_000
NOT_COPIED = {"alembic_version"}  # the store writes the target's own


def migrate(settings: Settings, target_uri: str) -> dict[str, int]:
    """Copy `mlflow.db` into the PostgreSQL database at `target_uri`; rows copied per table."""
    if not target_uri.startswith("postgresql"):
        raise BadInput("migrate copies into PostgreSQL: give a postgresql:// URI")
    paths = ServerPaths.from_settings(settings)
    if not paths.backend_db.is_file():
        raise BadInput(
            f"no database at {paths.backend_db}: nothing to migrate ([server] data_dir?)"
        )
    problem = schema_problem(paths.backend_db)
    if problem:
        raise BadInput(problem)
    with DataDirLock(paths.data_dir):
        refuse_if_databases_open(paths)
        target = _empty_mlflow_database(target_uri, paths.artifacts_dir)
        source = sqlalchemy.create_engine(f"sqlite:///{paths.backend_db.as_posix()}")
        try:
            with source.connect() as reading:
                _refuse_values_too_long(reading, target)
                with target.begin() as writing:
                    copied = _copy_tables(reading, writing)
                    _move_id_counters(writing)
        except OperationalError as exc:
            raise ServerUnavailable(
                f"{_without_password(target_uri)} stopped answering during the copy "
                f"({str(exc.orig).strip().splitlines()[0]}); nothing was committed: run "
                "`mlops server migrate` again"
            ) from None
        finally:
            source.dispose()
            target.dispose()
    return copied


def _empty_mlflow_database(uri: str, artifacts: Path) -> sqlalchemy.Engine:
    """MLflow's schema, created by MLflow's own store; refused if it already holds history."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    try:
        store = SqlAlchemyStore(uri, artifacts.as_uri())
    except Exception as exc:  # the driver's own error types vary
        raise BadInput(f"cannot use {_without_password(uri)}: {str(exc).splitlines()[0]}") from None
    engine = store.engine
    with engine.connect() as connection:
        runs = connection.execute(text("SELECT count(*) FROM runs")).scalar_one()
    if runs:
        raise BadInput(
            f"{_without_password(uri)} already holds {runs} runs: migrate into an empty one"
        )
    return engine


def _refuse_values_too_long(reading, target: sqlalchemy.Engine) -> None:
    """Every text column PostgreSQL bounds (MLflow's `String(n)`), checked in sqlite first."""
    source, bounded = MetaData(), MetaData()
    source.reflect(reading)
    bounded.reflect(target)
    for table in bounded.sorted_tables:
        if table.name not in source.tables or table.name in NOT_COPIED:
            continue
        rows = source.tables[table.name]
        for column in table.columns:
            limit = getattr(column.type, "length", None)
            if not limit or column.name not in rows.columns:
                continue
            long = func.length(rows.c[column.name]) > limit
            found = reading.execute(select(func.count()).select_from(rows).where(long)).scalar()
            if found:
                raise BadInput(
                    f"{found} rows of {table.name}.{column.name} are longer than the {limit} "
                    "characters PostgreSQL's MLflow schema allows: nothing was written (shorten "
                    "or delete them in the sqlite file, from a backup copy, then migrate)"
                )


def _copy_tables(reading, writing) -> dict[str, int]:
    source, target = MetaData(), MetaData()
    source.reflect(reading)
    target.reflect(writing)
    shared = [
        t for t in target.sorted_tables if t.name in source.tables and t.name not in NOT_COPIED
    ]
    for table in reversed(shared):  # the store's own default rows go first
        writing.execute(table.delete())
    copied = {}
    for table in shared:
        columns = [  # a generated column (spans.duration_ns) is computed again by PostgreSQL
            c.name
            for c in table.columns
            if c.name in source.tables[table.name].columns and c.computed is None
        ]
        rows = reading.execute(select(*(source.tables[table.name].c[c] for c in columns)))
        copied[table.name] = 0
        while batch := rows.fetchmany(BATCH_ROWS):
            writing.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in batch])
            copied[table.name] += len(batch)
    return copied


def _move_id_counters(writing) -> None:
    """PostgreSQL hands out ids from sequences that know nothing of the copied rows."""
    metadata = MetaData()
    metadata.reflect(writing)
    for table in metadata.sorted_tables:
        for column in table.primary_key.columns:
            sequence = writing.execute(
                select(func.pg_get_serial_sequence(table.name, column.name))
            ).scalar_one()
            if sequence:
                highest = writing.execute(select(func.max(column))).scalar_one()
                writing.execute(select(func.setval(sequence, highest or 1, highest is not None)))


def _without_password(uri: str) -> str:
    return sqlalchemy.engine.make_url(uri).render_as_string(hide_password=True)
