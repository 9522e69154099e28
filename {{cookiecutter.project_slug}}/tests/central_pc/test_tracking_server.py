"""`mlops server start`: a private tracking server, secure by default, started as users start it.

One server per module, started with the real `mlops server start` in a child process; the
refusals are checked in-process (they happen before anything is spawned).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from contextlib import closing

import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from {{ cookiecutter.package_name }}.central_pc.lock import is_locked, processes_using
from {{ cookiecutter.package_name }}.central_pc.tracking_server import (
    LocalServer,
    ServerPaths,
    allowed_hosts,
    host_of,
    known_revisions,
    prepare,
    schema_problem,
)
from {{ cookiecutter.package_name }}.central_pc.tunnel import host_allowed
from {{ cookiecutter.package_name }}.central_pc.users import add_user
from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.process import free_port
from {{ cookiecutter.package_name }}.settings import ServerSettings, load_settings
from {{ cookiecutter.package_name }}.tracking.connection import translate

from ..central_pc_fixtures import (
    PASSWORD,
    Foreground,
    client_as,
    full_disk,
    one_line_error,
    project_env,
    status,
    unique,
    write_config,
)

DOMAIN = "team-test.example.org"
READY = "Ctrl-C stops it"


class Central:
    """The module's server: its settings file, data dir and the child process running it."""

    def __init__(self, root):
        self.port = free_port()
        self.data_dir = root / "data"
        self.config = write_config(
            root, port=self.port, data_dir=str(self.data_dir),
            artifacts_dir=str(root / "artifacts"), domain=DOMAIN,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"
        self.logs = root
        self.runs = 0
        self.process: Foreground | None = None

    def start(self) -> Foreground:
        self.runs += 1
        env = project_env(MLOPS_CONFIG=str(self.config))
        log = self.logs / f"start-{self.runs}.log"
        self.process = Foreground(["server", "start"], env, log).start(READY)
        return self.process

    @property
    def admin_password(self) -> str:
        return (self.data_dir / "admin_password").read_text().strip()


@pytest.fixture(scope="module")
def central(tmp_path_factory):
    server = Central(tmp_path_factory.mktemp("central"))
    server.start()
    yield server
    server.process.stop()


@pytest.fixture
def config(monkeypatch, tmp_path):
    """A settings file for the in-process refusals: a free port, a fresh data dir.

    A refusal that does not happen would start a server in the foreground: an alarm turns that
    into a failure instead of a hang.
    """
    if hasattr(signal, "SIGALRM"):
        previous = signal.signal(signal.SIGALRM, _took_too_long)
        signal.alarm(90)

    def make(**values):
        values.setdefault("port", free_port())
        values.setdefault("data_dir", str(tmp_path / "data"))
        values.setdefault("artifacts_dir", str(tmp_path / "artifacts"))
        path = write_config(tmp_path / "config", **values)
        monkeypatch.setenv("MLOPS_CONFIG", str(path))
        monkeypatch.delenv("MLFLOW_AUTH_ADMIN_PASSWORD", raising=False)
        return path

    yield make
    if hasattr(signal, "SIGALRM"):
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _took_too_long(_signum, _frame):
    raise TimeoutError("the command did not refuse: it started a server")


# --- secure by default ------------------------------------------------------------------------


def test_first_start_says_where_the_generated_password_is(central):
    first = (central.logs / "start-1.log").read_text()
    assert f"MLflow tracking server at {central.url}" in first
    assert f"stored in {central.data_dir / 'admin_password'}" in first
    assert len(central.admin_password) >= 12
    assert central.admin_password not in first, "no terminal: the password is not printed"


def test_a_start_prints_nothing_a_user_cannot_act_on(central):
    """No deprecation warning from MLflow's imports, no note about a registry URI nobody set."""
    started = central.process.output()
    assert "Warning" not in started and "Registry store URI not provided" not in started


def test_secrets_are_readable_by_their_owner_only(central):
    for name in ("admin_password", "flask_secret_key"):
        assert stat.S_IMODE((central.data_dir / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE(central.data_dir.stat().st_mode) == 0o700


def test_without_credentials_or_with_a_wrong_password_the_answer_is_401(central):
    response = requests.get(
        f"{central.url}/api/2.0/mlflow/experiments/search?max_results=1", timeout=30
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert status(central.url, ("admin", "not-the-password")) == 401
    assert status(central.url, ("admin", "")) == 401
    for default in ("password", "password1234"):  # MLflow's old shipped defaults
        assert status(central.url, ("admin", default)) == 401
    assert status(central.url, ("admin", central.admin_password)) == 200


def test_a_foreign_host_header_is_refused_unless_allowed(central):
    admin = ("admin", central.admin_password)
    assert status(central.url, auth=admin, host="evil.example.com") == 403
    assert not host_allowed(central.url, "evil.example.com")
    assert host_allowed(central.url, DOMAIN), "the tunnel's domain is allowed"
    assert host_allowed(central.url, f"localhost:{central.port}")
    assert host_allowed(central.url, f"[::1]:{central.port}")


def test_a_user_created_by_nobody_gets_nothing(central, monkeypatch):
    admin = ("admin", central.admin_password)
    experiment = unique("private")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", admin[0])
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", admin[1])
    MlflowClient(tracking_uri=central.url).create_experiment(experiment)
    name = unique("nobody")
    response = requests.post(
        f"{central.url}/api/2.0/mlflow/users/create",
        json={"username": name, "password": PASSWORD}, auth=admin, timeout=10,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    nobody = client_as(monkeypatch, central.url, name, PASSWORD)
    assert experiment not in [e.name for e in nobody.search_experiments()]
    with pytest.raises(MlflowException, match=r"403|PERMISSION_DENIED"):
        nobody.get_experiment_by_name(experiment)


def test_restarting_keeps_users_and_runs(central, monkeypatch):
    settings = load_settings(central.config)
    settings = settings.replace("tracking", experiment=unique("keep"))
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    add_user(settings, name := unique("member"), "member", PASSWORD)
    member = client_as(monkeypatch, central.url, name, PASSWORD)
    experiment = member.get_experiment_by_name(settings.tracking.experiment)
    run = member.create_run(experiment.experiment_id)
    member.log_metric(run.info.run_id, "f1", 0.9)

    assert central.process.stop() == 0, central.process.output()
    assert not is_locked(central.data_dir), "the lock dies with the server"
    second = central.start()
    assert "First start" not in second.output()
    assert member.get_run(run.info.run_id).data.metrics == {"f1": 0.9}


# --- refusals: one line, exit 2, nothing half-written -----------------------------------------


@pytest.mark.parametrize("given", ["", "too-short"])
def test_an_empty_or_short_admin_password_is_refused(config, monkeypatch, tmp_path, capsys, given):
    config()
    monkeypatch.setenv("MLFLOW_AUTH_ADMIN_PASSWORD", given)
    assert main(["server", "start"]) == 2
    assert "at least 12 characters" in one_line_error(capsys)
    assert not (tmp_path / "data").exists(), "nothing is written"


def test_a_port_in_use_is_refused(central, config, capsys):
    config(port=central.port)
    assert main(["server", "start"]) == 2
    assert f"port {central.port} is already in use" in one_line_error(capsys)


def test_a_data_dir_in_use_is_refused(central, config, capsys):
    config(data_dir=str(central.data_dir))
    assert main(["server", "start"]) == 2
    assert "is in use by another server" in one_line_error(capsys)


def test_a_data_dir_that_cannot_be_written_is_refused(config, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    config(data_dir=str(blocker / "data"))
    assert main(["server", "start"]) == 2
    assert f"cannot create {blocker / 'data'}" in one_line_error(capsys)


def test_an_auth_db_without_its_admin_password_needs_it_given(config, tmp_path, capsys):
    config()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "auth.db").write_bytes(b"")
    assert main(["server", "start"]) == 2
    assert "set MLFLOW_AUTH_ADMIN_PASSWORD" in one_line_error(capsys)


def test_an_empty_secret_file_is_refused(config, tmp_path, capsys):
    config()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "admin_password").write_text("\n")
    assert main(["server", "start"]) == 2
    assert "admin_password is empty" in one_line_error(capsys)


@pytest.fixture(scope="module")
def old_database(tmp_path_factory):
    """A real MLflow DB whose schema is one migration behind the installed MLflow."""
    db = tmp_path_factory.mktemp("old-db") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{db.as_posix()}").search_experiments()
    head, previous = known_revisions()[:2]
    with closing(sqlite3.connect(db)) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == (head,)
        connection.execute("UPDATE alembic_version SET version_num = ?", (previous,))
        connection.commit()
    return db


def test_an_out_of_date_schema_is_one_line_with_the_upgrade(old_database, config, capsys):
    from mlflow.store.db.utils import _verify_schema, create_sqlalchemy_engine

    engine = create_sqlalchemy_engine(f"sqlite:///{old_database.as_posix()}")
    with pytest.raises(MlflowException, match="out-of-date database schema"):
        _verify_schema(engine)  # what MLflow would say, as a traceback
    engine.dispose()
    config(data_dir=str(old_database.parent))
    assert main(["server", "start"]) == 2
    error = one_line_error(capsys)
    assert "out-of-date database schema" in error and "mlflow db upgrade sqlite:///" in error


def test_a_current_schema_passes(tmp_path):
    db = tmp_path / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{db.as_posix()}").search_experiments()
    assert schema_problem(db) is None
    assert schema_problem(tmp_path / "missing.db") is None


def test_the_allowed_hosts_keep_the_local_names_and_add_the_tunnel():
    hosts = allowed_hosts(ServerSettings(), "https://team.ngrok-free.app/")
    assert {"localhost", "127.0.0.1:*", "[[]::1]:*", "team.ngrok-free.app"} <= set(hosts)
    lan = allowed_hosts(ServerSettings(host="0.0.0.0"))
    assert "192.168.*" in lan and "10.*" in lan
    assert host_of("https://a.example/x") == "a.example" and host_of("") == ""


def test_paths_follow_the_settings(platform_settings, tmp_path):
    paths = ServerPaths.from_settings(platform_settings, tmp_path / "d", tmp_path / "a")
    assert paths.backend_db == tmp_path / "d" / "mlflow.db"
    assert paths.admin_password_file.parent == paths.secret_key_file.parent == tmp_path / "d"


# --- hard kills -------------------------------------------------------------------------------


def answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux parent-death signal")
def test_a_killed_wrapper_takes_its_server_along(tmp_path):
    victim = Central(tmp_path)
    wrapper = victim.start().process
    databases = [victim.data_dir / "mlflow.db", victim.data_dir / "auth.db"]
    assert processes_using(databases), "the running server holds its databases"
    wrapper.kill()  # SIGKILL: nothing runs in the wrapper
    wrapper.wait()
    deadline = time.monotonic() + 60
    while (processes_using(databases) or answers(victim.url)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not processes_using(databases) and not answers(victim.url), "no orphan is left"
    victim.start().stop()  # the data dir is free again


def test_an_orphaned_server_blocks_restore_and_start(central, config, tmp_path, capsys):
    """A server that outlived its `mlops` parent holds the databases without the lock."""
    backup = tmp_path / "backup"
    backup.mkdir()
    for name in ("mlflow.db", "auth.db"):
        source, copy = central.data_dir / name, backup / name
        with closing(sqlite3.connect(source)) as live, closing(sqlite3.connect(copy)) as kept:
            live.backup(kept)
    data_dir = tmp_path / "orphaned"
    data_dir.mkdir()
    for name in ("mlflow.db", "auth.db"):
        (data_dir / name).write_bytes((backup / name).read_bytes())
    port = free_port()
    orphan = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{data_dir / 'mlflow.db'}"],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not processes_using([data_dir / "mlflow.db"]) and time.monotonic() < deadline:
            time.sleep(0.5)
        config(data_dir=str(data_dir))
        assert main(["server", "restore", str(backup)]) == 2
        assert "are open in process" in one_line_error(capsys)
        assert main(["server", "start"]) == 2
        assert "are open in process" in one_line_error(capsys)
        assert not list(data_dir.glob("*.before-restore-*")), "nothing was touched"
    finally:
        os.killpg(orphan.pid, signal.SIGKILL)
        orphan.wait()


def test_a_full_artifacts_disk_is_one_line_and_the_run_waits(
    tmp_path, monkeypatch, capsys, pending_folder
):
    with full_disk(tmp_path / "artifacts") as artifacts:
        paths = ServerPaths(tmp_path / "data", artifacts)
        options = ServerSettings(port=free_port())
        password, _ = prepare(paths, options)
        with LocalServer(paths, options, password).start() as server:
            client = client_as(monkeypatch, server.url, "admin", password)
            monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
            assert main(["train"]) == 3
            assert "has no disk space left (its artifacts folder)" in one_line_error(capsys)
            assert list(pending_folder.iterdir()), "the run waits for `mlops upload-pending`"
            runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
            assert runs and all(run.info.status != "RUNNING" for run in runs)
            assert sorted(p.name for p in artifacts.iterdir()) == ["filler"]


def test_a_full_database_disk_is_named_too():
    full = MlflowException("(sqlite3.OperationalError) database or disk is full")
    message = str(translate(full, "http://pc:5000"))
    assert message.startswith("the tracking server at http://pc:5000 has no disk space left")
    assert "database folder" in message
