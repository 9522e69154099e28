"""The central PC's tracking server: `mlflow server --app-name <package>-guard`, secure by default.

- `<package>-guard` is MLflow's own basic-auth app inside the team's rules (`server_guard`).

- Backend and auth DBs on the local disk (`[server] data_dir`); never sync a live sqlite
  file through Google Drive. Artifacts are proxied by the server into `artifacts_dir`, which
  may be a Drive-synced folder.
- No default password: the admin password comes from `MLFLOW_AUTH_ADMIN_PASSWORD` or is
  generated on first start, shown once and kept 0600 beside the Flask secret key.
- `default_permission = NO_PERMISSIONS`: a user sees nothing until granted.
- Sized for one PC: 1 worker, no job runner, a 60 s credential cache (MLflow's defaults start
  15 processes, ~2.6 GB, and spend ~200 ms hashing the password on every request).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadInput
from ..process import (
    ALL_INTERFACES,
    ChildProcess,
    RunsAChild,
    hold_in_foreground,
    refuse_busy_port,
)
from ..settings import ServerSettings, Settings
from ..variables import AUTH_CACHE_TTL_ENV, LOGIN_ATTEMPTS_ENV, SERVER_PARENT_PID_ENV
from . import server_launcher
from .lock import DataDirLock, in_use, is_locked, processes_using

BACKEND_DB, AUTH_DB = "mlflow.db", "auth.db"  # runs and models; users and grants
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD_ENV = "MLFLOW_AUTH_ADMIN_PASSWORD"  # noqa: S105 (a variable name)
MIN_PASSWORD_LENGTH = 12
# fnmatch patterns: "[" opens a character class, so IPv6's bracket is written "[[]"
LOCAL_HOSTS = ("localhost", "localhost:*", "127.0.0.1", "127.0.0.1:*", "[::1]", "[[]::1]:*")
# Listening on every interface (a LAN or VPN): accept the private address ranges, as MLflow's
# own defaults do
PRIVATE_HOSTS = ("10.*", "192.168.*", *(f"172.{n}.*" for n in range(16, 32)))


@dataclass(frozen=True)
class ServerPaths:
    """Every file the server keeps; secrets live in `data_dir` with mode 0600."""

    data_dir: Path
    artifacts_dir: Path

    @property
    def backend_db(self) -> Path:
        return self.data_dir / BACKEND_DB

    @property
    def auth_db(self) -> Path:
        return self.data_dir / AUTH_DB

    @property
    def auth_ini(self) -> Path:
        return self.data_dir / "basic_auth.ini"

    @property
    def secret_key_file(self) -> Path:
        return self.data_dir / "flask_secret_key"

    @property
    def admin_password_file(self) -> Path:
        return self.data_dir / "admin_password"

    @classmethod
    def from_settings(cls, settings: Settings, data_dir=None, artifacts_dir=None) -> ServerPaths:
        return cls(
            settings.resolve(str(data_dir or settings.server.data_dir)).resolve(),
            settings.resolve(str(artifacts_dir or settings.server.artifacts_dir)).resolve(),
        )


def check_password(password: str | None, what: str = "password") -> str:
    if not password or len(password) < MIN_PASSWORD_LENGTH:
        raise BadInput(f"the {what} must have at least {MIN_PASSWORD_LENGTH} characters")
    return password


def write_secret(path: Path, value: str) -> None:
    """Create the file readable by its owner only, before any byte of the secret is written."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value)
    os.chmod(path, 0o600)


def read_secret_file(path: Path) -> str:
    value = path.read_text(encoding="utf-8").strip()
    if not value:
        raise BadInput(f"{path} is empty: delete it to generate a new one, or write the secret")
    return value


def _read_or_create(path: Path, make) -> tuple[str, bool]:
    if path.is_file():
        return read_secret_file(path), False
    value = make()
    write_secret(path, value)
    return value, True


def prepare_data_dir(paths: ServerPaths) -> None:
    for folder in (paths.data_dir, paths.artifacts_dir):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BadInput(f"cannot create {folder}: {exc.strerror}") from None
        if not os.access(folder, os.W_OK | os.X_OK):
            raise BadInput(f"{folder} is not writable by this user")
    os.chmod(paths.data_dir, 0o700)
    with contextlib.suppress(OSError):  # a synced folder's file system may not keep modes
        os.chmod(paths.artifacts_dir, 0o700)


def given_admin_password() -> str | None:
    """`$MLFLOW_AUTH_ADMIN_PASSWORD` when set; empty or short is refused, never defaulted."""
    given = os.environ.get(ADMIN_PASSWORD_ENV)
    if given is None:
        return None
    return check_password(given, f"admin password ({ADMIN_PASSWORD_ENV})")


def admin_password(paths: ServerPaths) -> tuple[str, bool]:
    """(password, generated now): the stored file, else `$MLFLOW_AUTH_ADMIN_PASSWORD`, else new.

    MLflow uses the password only to create the admin in an empty auth DB, so an existing
    auth DB without the file (e.g. after a restore) needs the admin's current password given.
    """
    given = given_admin_password()
    if paths.admin_password_file.is_file():
        return read_secret_file(paths.admin_password_file), False
    if given is None and paths.auth_db.exists():
        raise BadInput(
            f"{paths.auth_db} exists but {paths.admin_password_file.name} does not: set "
            f"{ADMIN_PASSWORD_ENV} to the admin's current password for this start"
        )
    if given is not None:
        write_secret(paths.admin_password_file, given)
        return given, False
    return _read_or_create(paths.admin_password_file, lambda: secrets.token_urlsafe(18))


def write_auth_ini(paths: ServerPaths, options: ServerSettings) -> None:
    """MLflow's auth config; `database_uri` must be absolute (it is read relative to the cwd)."""
    write_secret(
        paths.auth_ini,
        "[mlflow]\n"
        "default_permission = NO_PERMISSIONS\n"
        f"database_uri = sqlite:///{paths.auth_db.as_posix()}\n"
        f"admin_username = {ADMIN_USERNAME}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        f"auth_cache_ttl_seconds = {options.auth_cache_ttl_seconds}\n",
    )


def host_of(domain: str) -> str:
    """`https://team.ngrok-free.app/` or `team.ngrok-free.app`: the Host header clients send."""
    return domain.strip().split("://", 1)[-1].split("/", 1)[0]


def allowed_hosts(options: ServerSettings, tunnel_domain: str = "") -> list[str]:
    """The flag replaces MLflow's defaults: always keep the local names, add the tunnel's."""
    hosts = [*LOCAL_HOSTS, *options.allowed_hosts]
    if host_of(tunnel_domain):
        hosts.append(host_of(tunnel_domain))
    if options.host in ALL_INTERFACES:
        hosts += PRIVATE_HOSTS
    elif options.host not in ("127.0.0.1", "localhost"):
        hosts += [options.host, f"{options.host}:*"]
    return list(dict.fromkeys(hosts))


def backend_store_uri(paths: ServerPaths, options: ServerSettings) -> str:
    """sqlite on the local disk by default; PostgreSQL when the team outgrows it."""
    return options.backend_store_uri or f"sqlite:///{paths.backend_db.as_posix()}"


def launch_command(
    paths: ServerPaths, options: ServerSettings, tunnel_domain: str = ""
) -> list[str]:
    return [
        sys.executable, "-m", server_launcher.__name__, "server",
        "--app-name", server_launcher.APP_NAME,
        "--backend-store-uri", backend_store_uri(paths, options),
        "--registry-store-uri", backend_store_uri(paths, options),  # said, so MLflow says nothing
        "--artifacts-destination", options.artifacts_destination or paths.artifacts_dir.as_uri(),
        "--serve-artifacts",
        "--host", options.host,
        "--port", str(options.port),
        "--workers", str(options.workers),
        "--allowed-hosts", ",".join(allowed_hosts(options, tunnel_domain)),
    ]  # fmt: skip


QUIET = "ignore:starlette.middleware.wsgi is deprecated"
"""MLflow's own import of a deprecated Starlette module: a warning nobody running the server
can act on, printed at every start."""


def launch_environment(
    paths: ServerPaths, options: ServerSettings, password: str
) -> dict[str, str]:
    secret_key, _ = _read_or_create(paths.secret_key_file, lambda: secrets.token_hex(32))
    return {
        **os.environ,
        LOGIN_ATTEMPTS_ENV: str(options.login_attempts),
        SERVER_PARENT_PID_ENV: str(os.getpid()),
        AUTH_CACHE_TTL_ENV: str(options.auth_cache_ttl_seconds),
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secret_key,
        "MLFLOW_AUTH_CONFIG_PATH": str(paths.auth_ini),
        "MLFLOW_AUTH_ADMIN_PASSWORD": password,
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "PYTHONWARNINGS": ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), QUIET])),
    }


@dataclass
class LocalServer(RunsAChild):
    """A running server process; a context manager that stops it (and its workers) on exit.

    It holds the data dir's lock while it runs: a second server, or a restore, on the same
    data dir is refused.
    """

    paths: ServerPaths
    options: ServerSettings
    admin_password: str
    child: ChildProcess | None = None
    lock: DataDirLock | None = None

    @property
    def url(self) -> str:
        return self.options.url

    def start(
        self,
        tunnel_domain: str = "",
        foreground: bool = False,
        progress: Callable[[str], None] | None = None,
    ) -> LocalServer:
        self.lock = DataDirLock(self.paths.data_dir)
        self.lock.acquire()
        try:
            refuse_busy_port(self.options.host, self.options.port, "the tracking server")
            self.child = ChildProcess(
                launch_command(self.paths, self.options, tunnel_domain),
                launch_environment(self.paths, self.options, self.admin_password),
                "the tracking server",
                None if foreground else self.paths.data_dir / "server.log",
                timeout_hint="; a slow PC may need a larger [server] startup_timeout_s",
            )
            self.child.start(f"{self.url}/health", self.options.startup_timeout_s, progress)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            if self.lock is not None:
                self.lock.release()
                self.lock = None


def prepare(paths: ServerPaths, options: ServerSettings) -> tuple[str, bool]:
    """Create folders, secret key, admin password and auth config; (admin password, generated).

    The given admin password is checked before anything is written.
    """
    given_admin_password()
    prepare_data_dir(paths)
    password, created = admin_password(paths)
    write_auth_ini(paths, options)
    return password, created


# --- the schema of an existing backend DB -------------------------------------------------------


def schema_problem(db: Path) -> str | None:
    """Why MLflow would refuse this sqlite DB's schema, or None (also when it cannot tell).

    MLflow upgrades an empty DB itself but refuses one made by another version with a long
    traceback; say it in one line, with the fix, before starting anything.
    """
    found = _schema_revision(db) if db.is_file() else None
    revisions = known_revisions() if found else None
    if not revisions or found == revisions[0]:
        return None
    head = revisions[0]
    if found in revisions:
        return (
            f"{db} has an out-of-date database schema (found {found}, this MLflow expects "
            f"{head}): back it up (mlops server backup), then run "
            f"`uv run mlflow db upgrade sqlite:///{db.as_posix()}`"
        )
    return (
        f"{db} was made by a newer MLflow (schema {found} is unknown here): install that "
        "MLflow version (uv lock --upgrade-package mlflow)"
    )


def _schema_revision(db: Path) -> str | None:
    with closing(sqlite3.connect(f"file:{db.as_posix()}?mode=ro", uri=True)) as connection:
        try:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError:
            return None
    return row[0] if row else None


def known_revisions() -> list[str] | None:
    """MLflow's migration revisions, newest first (None if this MLflow keeps them elsewhere)."""
    spec = importlib.util.find_spec("mlflow")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(spec.submodule_search_locations[0]) / "store" / "db_migrations"
    if not (folder / "versions").is_dir():
        return None
    from alembic.script import ScriptDirectory

    return [revision.revision for revision in ScriptDirectory(str(folder)).walk_revisions()]


# --- mlops server start -----------------------------------------------------------------------


def options_from_settings(
    settings: Settings, host: str | None = None, port: int | None = None
) -> ServerSettings:
    """`[server]`, with the command line's `--host` / `--port` when given."""
    chosen = {"host": host, "port": port}
    return settings.server.model_copy(update={k: v for k, v in chosen.items() if v})


def admin_url(settings: Settings) -> str:
    """Where the admin commands reach the server: on this PC, from `[server]`."""
    return options_from_settings(settings).url


def refuse_if_databases_open(paths: ServerPaths) -> None:
    """An orphaned server (its `mlops` parent killed) holds the DBs without the lock."""
    holders = processes_using([paths.backend_db, paths.auth_db])
    if holders:
        pids = " ".join(map(str, holders))
        raise BadInput(
            f"the databases in {paths.data_dir} are open in process {pids}: a server still "
            f"running without `mlops server start`? stop it first (kill {pids})"
        )


def check_startable(paths: ServerPaths, options: ServerSettings) -> None:
    """Every cheap reason not to start, before a file is written or a process spawned."""
    given_admin_password()
    if is_locked(paths.data_dir):
        raise in_use(paths.data_dir)
    refuse_busy_port(options.host, options.port, "the tracking server")
    refuse_if_databases_open(paths)
    problem = None if options.backend_store_uri else schema_problem(paths.backend_db)
    if problem:
        raise BadInput(problem)


def serve_forever(
    settings: Settings,
    host: str | None = None,
    port: int | None = None,
    data_dir: Path | None = None,
    artifacts_dir: Path | None = None,
    echo: Callable[[str], None] = print,
    show_secret: bool = False,
) -> None:
    """`mlops server start`: run the server in the foreground until Ctrl-C or SIGTERM."""
    paths = ServerPaths.from_settings(settings, data_dir, artifacts_dir)
    options = options_from_settings(settings, host, port)
    check_startable(paths, options)
    password, generated = prepare(paths, options)
    if generated:
        shown = password if show_secret else "not shown here (no terminal)"
        echo(f"First start: generated the admin password: {shown}")
        echo(f"  stored in {paths.admin_password_file} (readable by you only); keep a copy in")
        echo("  your password manager: it is not shown again")
    server = LocalServer(paths, options, password)

    def start() -> subprocess.Popen:
        echo(f"Starting the tracking server on {server.url} ...")
        server.start(settings.tunnel.domain, foreground=True, progress=echo)
        echo(f"MLflow tracking server at {server.url} (user {ADMIN_USERNAME}); Ctrl-C stops it")
        echo(f"  data: {paths.data_dir}  artifacts: {paths.artifacts_dir}")
        return server.running()

    hold_in_foreground(start, server.stop, "the tracking server", echo)
