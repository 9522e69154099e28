"""Backups taken while the server writes, restored into a fresh data dir with nothing missing."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore

from {{ cookiecutter.package_name }}.central_pc.backup import DATABASES, MANIFEST, check_database, prune
from {{ cookiecutter.package_name }}.cli import main

from ..central_pc_fixtures import (
    MLOPS,
    PASSWORD,
    client_as,
    config_for,
    full_disk,
    new_user,
    on_server,
    one_line_error,
    project_env,
    server_of_its_own,
    unique,
    write_config,
)


@pytest.fixture
def team(settings, tracking_server, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    return on_server(settings, tracking_server)


@pytest.fixture
def cli_config(team, tracking_server, tmp_path, monkeypatch):
    path = config_for(tracking_server, tmp_path / "config", team, backup_dir=str(tmp_path / "bk"))
    monkeypatch.setenv("MLOPS_CONFIG", str(path))
    return path


class Logger(threading.Thread):
    """Logs runs into the server until stopped, so a backup meets a server that writes."""

    def __init__(self, client: MlflowClient, experiment_id: str):
        super().__init__(daemon=True)
        self.client, self.experiment_id = client, experiment_id
        self.stop = threading.Event()
        self.logged: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                run = self.client.create_run(self.experiment_id)
                self.client.log_batch(run.info.run_id, params=[], metrics=[], tags=[])
                self.client.set_terminated(run.info.run_id)
            except MlflowException:  # the server was killed under it
                return
            self.logged.append(run.info.run_id)


def backups_in(folder):
    return sorted(p for p in folder.iterdir() if p.name.startswith("mlops-backup-"))


def test_a_backup_taken_while_runs_are_logged_restores_everything(
    team, cli_config, tracking_server, tmp_path, monkeypatch, capsys
):
    member_name, _ = new_user(team, "member")
    admin = client_as(monkeypatch, tracking_server.url, "admin", tracking_server.admin_password)
    experiment_id = admin.get_experiment_by_name(team.tracking.experiment).experiment_id
    before = [admin.create_run(experiment_id, tags={"n": str(n)}) for n in range(3)]
    for run in before:
        admin.log_metric(run.info.run_id, "f1", 0.75)
    model = team.model.registered_name
    versions = [
        admin.create_model_version(model, f"{r.info.artifact_uri}/model", r.info.run_id)
        for r in before[:2]
    ]
    admin.set_registered_model_alias(model, "champion", versions[1].version)

    logger = Logger(admin, experiment_id)
    logger.start()
    try:
        while len(logger.logged) < 2:
            threading.Event().wait(0.05)
        assert main(["server", "backup", "--to", str(tmp_path / "backups")]) == 0
        logged_before_backup_ended = len(logger.logged)
    finally:
        logger.stop.set()
        logger.join(timeout=30)
    (backup,) = backups_in(tmp_path / "backups")
    assert f"backup written to {backup}" in capsys.readouterr().out
    assert {p.name for p in backup.iterdir()} == {*DATABASES, MANIFEST}

    fresh = tmp_path / "fresh"
    assert main(["server", "restore", str(backup), "--data-dir", str(fresh)]) == 0
    assert "MLFLOW_AUTH_ADMIN_PASSWORD" in capsys.readouterr().out  # no password file there

    restored = MlflowClient(tracking_uri=f"sqlite:///{(fresh / 'mlflow.db').as_posix()}")
    runs = restored.search_runs([experiment_id], max_results=1000)
    ids = {run.info.run_id for run in runs}
    assert {run.info.run_id for run in before} <= ids
    assert set(logger.logged[:2]) <= ids, "runs finished before the backup are in it"
    assert len(ids) <= len(before) + logged_before_backup_ended + 1
    assert restored.get_run(before[0].info.run_id).data.metrics == {"f1": 0.75}
    assert len(restored.search_model_versions(f"name = '{model}'")) == len(versions)
    champion = restored.get_model_version_by_alias(model, "champion")
    assert str(champion.version) == str(versions[1].version)

    users = SqlAlchemyStore()
    users.init_db(f"sqlite:///{(fresh / 'auth.db').as_posix()}")
    assert users.authenticate_user(member_name, PASSWORD)
    users.engine.dispose()


def test_only_the_newest_backups_are_kept(cli_config, tmp_path, capsys):
    for _ in range(3):
        assert main(["server", "backup", "--keep", "2"]) == 0
    kept = backups_in(tmp_path / "bk")
    assert len(kept) == 2
    assert "removed the older backup" in capsys.readouterr().out
    (tmp_path / "bk" / "not-a-backup").mkdir()
    assert prune(tmp_path / "bk", 1) == kept[:1]
    assert (tmp_path / "bk" / "not-a-backup").is_dir(), "only our own folders are pruned"


def test_restoring_twice_keeps_the_replaced_databases(cli_config, tmp_path):
    assert main(["server", "backup"]) == 0
    (backup,) = backups_in(tmp_path / "bk")
    target = tmp_path / "again"
    for _ in range(2):
        assert main(["server", "restore", str(backup), "--data-dir", str(target)]) == 0
    assert len(list(target.glob("mlflow.db.before-restore-*"))) == 1


def test_restore_refuses_a_data_dir_a_server_uses(
    team, cli_config, tracking_server, tmp_path, capsys
):
    assert main(["server", "backup"]) == 0
    (backup,) = backups_in(tmp_path / "bk")
    data_dir = tracking_server.paths.data_dir
    assert main(["server", "restore", str(backup)]) == 2
    assert f"a server answers at {tracking_server.url}" in one_line_error(capsys)
    other = config_for(tracking_server, tmp_path / "other", team, data_dir=str(tmp_path / "d"))
    restore_there = ["server", "restore", str(backup), "--data-dir", str(data_dir)]
    assert main(["--config", str(other), *restore_there]) == 2
    assert "is in use by another server or restore" in one_line_error(capsys)
    assert not list(data_dir.glob("*.before-restore-*")), "nothing was touched"


def test_bad_backups_and_data_dirs_are_one_line(
    team, cli_config, tracking_server, tmp_path, capsys
):
    assert main(["server", "restore", str(tmp_path / "nothing-here")]) == 2
    assert "is not a backup" in one_line_error(capsys)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "mlflow.db").write_text("not a database")
    assert main(["server", "restore", str(broken), "--data-dir", str(tmp_path / "x")]) == 2
    assert "not a readable sqlite database" in one_line_error(capsys)
    assert not (tmp_path / "x").exists(), "nothing is written"
    empty = config_for(tracking_server, tmp_path / "empty", team, data_dir=str(tmp_path / "e"))
    assert main(["--config", str(empty), "server", "backup"]) == 2
    assert "nothing to back up" in one_line_error(capsys)


def test_a_backup_killed_half_way_is_cleaned_up_by_the_next(team, tmp_path, monkeypatch):
    """SIGKILL leaves no chance to clean up: the next backup must, and rotation must count
    only complete backups."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with sqlite3.connect(data_dir / "mlflow.db") as db:  # big enough to copy for a while
        db.execute("create table filler (blob)")
        db.executemany("insert into filler values (?)", [(os.urandom(1 << 20),)] * 150)
    config = write_config(tmp_path / "config", data_dir=str(data_dir),
                          backup_dir=str(tmp_path / "bk"))  # fmt: skip
    child = subprocess.Popen([MLOPS, "--config", str(config), "server", "backup"],
                             env=project_env(), start_new_session=True)  # fmt: skip
    partial = wait_for(lambda: [p for p in (tmp_path / "bk").glob(".*.partial")], child)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert partial[0].is_dir() and backups_in(tmp_path / "bk") == []
    monkeypatch.setenv("MLOPS_CONFIG", str(config))
    assert main(["server", "backup", "--keep", "1"]) == 0
    assert not partial[0].exists()
    [complete] = backups_in(tmp_path / "bk")
    assert (complete / MANIFEST).is_file() and (complete / "mlflow.db").stat().st_size > 1 << 27


KILLED_MID_TRANSACTION = """
import os, signal, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("pragma cache_size = 10")  # spill to the file, so the journal is hot
db.execute("begin")
db.execute("update filler set blob = zeroblob(65536)")
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_writer_killed_mid_transaction_backs_up_its_last_commit(tmp_path, monkeypatch):
    """A crash mid-write leaves a hot journal that a read-only reader may not roll back: the
    backup rolls it back (as the server would on start) and holds the last committed data."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    rows = [(os.urandom(1 << 16),) for _ in range(50)]
    with closing(sqlite3.connect(data_dir / "mlflow.db")) as db, db:
        db.execute("create table filler (blob)")
        db.executemany("insert into filler values (?)", rows)
    subprocess.run([sys.executable, "-c", KILLED_MID_TRANSACTION, data_dir / "mlflow.db"])
    assert (data_dir / "mlflow.db-journal").stat().st_size > 0, "no hot journal to recover"
    config = write_config(tmp_path / "config", data_dir=str(data_dir),
                          backup_dir=str(tmp_path / "bk"))  # fmt: skip
    monkeypatch.setenv("MLOPS_CONFIG", str(config))
    assert main(["server", "backup"]) == 0
    [backup] = backups_in(tmp_path / "bk")
    with closing(sqlite3.connect(backup / "mlflow.db")) as db:
        assert db.execute("select blob from filler order by rowid").fetchall() == rows


def test_a_server_killed_during_a_backup_leaves_every_earlier_backup_intact(
    settings, tmp_path, monkeypatch
):
    """The central PC loses power (or the server is killed) while a backup copies: the backups
    taken before are untouched, and the next backup of the crashed data dir is complete."""
    with server_of_its_own(settings, tmp_path / "own", monkeypatch) as (server, team, client):
        config = config_for(server, tmp_path / "config", team, backup_dir=str(tmp_path / "bk"))
        monkeypatch.setenv("MLOPS_CONFIG", str(config))
        assert main(["server", "backup"]) == 0
        [earlier] = backups_in(tmp_path / "bk")
        fingerprint = {p.name: p.read_bytes() for p in earlier.iterdir()}
        with closing(sqlite3.connect(server.paths.backend_db, timeout=30)) as db, db:
            db.execute("create table filler (blob)")  # big enough to copy for a while
            db.executemany("insert into filler values (?)", [(os.urandom(1 << 20),)] * 100)
        logger = Logger(client, client.create_experiment(unique("backup")))
        logger.start()
        child = subprocess.Popen([MLOPS, "--config", str(config), "server", "backup"],
                                 env=project_env(), start_new_session=True)  # fmt: skip
        wait_for(lambda: list((tmp_path / "bk").glob(".*.partial")), child)
        os.killpg(server.process.pid, signal.SIGKILL)
        logger.stop.set()
        logger.join(timeout=60)
        assert child.wait(timeout=300) == 0
    assert {p.name: p.read_bytes() for p in earlier.iterdir()} == fingerprint
    assert main(["server", "backup"]) == 0, "the crashed data dir backs up"
    for backup in backups_in(tmp_path / "bk"):
        for name in DATABASES:
            check_database(backup / name)
    assert len(backups_in(tmp_path / "bk")) == 3
    assert not list((tmp_path / "bk").glob(".*.partial"))


def wait_for(found, child, timeout: float = 120, poll: float = 0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = found()
        if result:
            return result
        assert child.poll() is None, "the command ended before it could be cut off"
        time.sleep(poll)
    raise AssertionError("the command never started its work")


def test_a_full_backup_disk_is_one_line_and_leaves_nothing(cli_config, tmp_path, capsys):
    with full_disk(tmp_path / "small") as small:
        assert main(["server", "backup", "--to", str(small)]) == 2
        assert f"no space left in {small}" in one_line_error(capsys)
        assert sorted(p.name for p in small.iterdir()) == ["filler"], "no half-written backup"


def marked_database(path, mark: str, filler_mb: int = 0) -> None:
    """A sqlite file that says which state it holds; big enough to copy for a while."""
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("create table mark (state)")
        db.execute("insert into mark values (?)", (mark,))
        db.execute("create table filler (blob)")
        db.executemany("insert into filler values (?)", [(os.urandom(1 << 20),)] * filler_mb)


def state_of(path) -> str:
    check_database(path)
    with closing(sqlite3.connect(f"file:{path.as_posix()}?mode=ro", uri=True)) as db:
        return db.execute("select state from mark").fetchone()[0]


@pytest.mark.parametrize("cut", ["while copying the backup in", "between the two swaps"])
def test_a_restore_killed_midway_leaves_whole_databases_and_a_rerun_completes(tmp_path, cut):
    """kill -9 of `server restore`: each database is whole, the old one or the backup's (never
    a half-copied file), and running the restore again puts the backup in place."""
    data_dir, backup = tmp_path / "data", tmp_path / "backup"
    for folder, mark in ((data_dir, "old"), (backup, "new")):
        folder.mkdir()
        marked_database(folder / "mlflow.db", mark, filler_mb=120 if mark == "new" else 0)
        marked_database(folder / "auth.db", mark)
    config = write_config(tmp_path / "config", data_dir=str(data_dir))
    command = [MLOPS, "--config", str(config), "server", "restore", str(backup)]
    child = subprocess.Popen(command, env=project_env(), start_new_session=True)
    if cut == "while copying the backup in":
        wait_for(lambda: list(data_dir.glob("*.restoring")), child)
    else:  # auth.db is copied last and swapped last: its copy done, mlflow.db swapped or not
        wait_for(lambda: list(data_dir.glob("*.before-restore-*")), child, poll=0.001)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    states = {name: state_of(data_dir / name) for name in DATABASES}
    if cut == "while copying the backup in":
        assert states == {name: "old" for name in DATABASES}
    assert set(states.values()) <= {"old", "new"}

    rerun = subprocess.run(command, env=project_env(), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert {name: state_of(data_dir / name) for name in DATABASES} == {
        name: "new" for name in DATABASES
    }
    assert not list(data_dir.glob("*.restoring"))
