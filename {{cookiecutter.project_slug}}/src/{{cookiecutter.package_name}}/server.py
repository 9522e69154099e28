"""The central PC's tracking server: `mlflow server --app-name basic-auth`, secure by default.

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

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from .errors import BadInput, ServerUnavailable
from .settings import Settings

ADMIN_USERNAME = "admin"
MIN_PASSWORD_LENGTH = 12
LOCAL_HOSTS = ("localhost", "localhost:*", "127.0.0.1", "127.0.0.1:*", "[::1]", "[::1]:*")
STARTUP_TIMEOUT_S = 90


@dataclass(frozen=True)
class ServerPaths:
    """Every file the server keeps; secrets live in `data_dir` with mode 0600."""

    data_dir: Path
    artifacts_dir: Path

    @property
    def backend_db(self) -> Path:
        return self.data_dir / "mlflow.db"

    @property
    def auth_db(self) -> Path:
        return self.data_dir / "auth.db"

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


@dataclass(frozen=True)
class ServerOptions:
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    auth_cache_ttl_seconds: int = 60
    allowed_hosts: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"


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


def _read_or_create(path: Path, make) -> tuple[str, bool]:
    if path.is_file():
        return path.read_text(encoding="utf-8").strip(), False
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


def admin_password(paths: ServerPaths) -> tuple[str, bool]:
    """(password, created now): from the file, else `$MLFLOW_AUTH_ADMIN_PASSWORD`, else new."""
    if paths.admin_password_file.is_file():
        return paths.admin_password_file.read_text(encoding="utf-8").strip(), False
    if "MLFLOW_AUTH_ADMIN_PASSWORD" in os.environ:
        given = check_password(os.environ["MLFLOW_AUTH_ADMIN_PASSWORD"], "admin password")
        write_secret(paths.admin_password_file, given)
        return given, False
    return _read_or_create(paths.admin_password_file, lambda: secrets.token_urlsafe(18))


def write_auth_ini(paths: ServerPaths, options: ServerOptions) -> None:
    """MLflow's auth config; `database_uri` must be absolute (it is read relative to the cwd)."""
    paths.auth_ini.write_text(
        "[mlflow]\n"
        "default_permission = NO_PERMISSIONS\n"
        f"database_uri = sqlite:///{paths.auth_db.as_posix()}\n"
        f"admin_username = {ADMIN_USERNAME}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        f"auth_cache_ttl_seconds = {options.auth_cache_ttl_seconds}\n",
        encoding="utf-8",
    )


def allowed_hosts(options: ServerOptions, tunnel_domain: str = "") -> list[str]:
    """The flag replaces MLflow's defaults: always keep the local names, add the tunnel's."""
    hosts = [*LOCAL_HOSTS, *options.allowed_hosts]
    if tunnel_domain:
        hosts.append(tunnel_domain)
    if options.host not in ("127.0.0.1", "localhost", "0.0.0.0", "::"):
        hosts += [options.host, f"{options.host}:*"]
    return list(dict.fromkeys(hosts))


def command(paths: ServerPaths, options: ServerOptions, tunnel_domain: str = "") -> list[str]:
    return [
        sys.executable, "-m", "mlflow", "server",
        "--app-name", "basic-auth",
        "--backend-store-uri", f"sqlite:///{paths.backend_db.as_posix()}",
        "--artifacts-destination", paths.artifacts_dir.as_uri(),
        "--serve-artifacts",
        "--host", options.host,
        "--port", str(options.port),
        "--workers", str(options.workers),
        "--allowed-hosts", ",".join(allowed_hosts(options, tunnel_domain)),
    ]  # fmt: skip


def environment(paths: ServerPaths, password: str) -> dict[str, str]:
    secret_key, _ = _read_or_create(paths.secret_key_file, lambda: secrets.token_hex(32))
    return {
        **os.environ,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secret_key,
        "MLFLOW_AUTH_CONFIG_PATH": str(paths.auth_ini),
        "MLFLOW_AUTH_ADMIN_PASSWORD": password,
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1" if host in ("0.0.0.0", "") else host, port)) == 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = STARTUP_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerUnavailable(f"the tracking server exited with code {process.returncode}")
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise ServerUnavailable(f"the tracking server did not answer {url}/health in {timeout:.0f} s")


@dataclass
class LocalServer:
    """A running server process; a context manager that stops it (and its workers) on exit."""

    paths: ServerPaths
    options: ServerOptions
    admin_password: str
    process: subprocess.Popen | None = None
    log_file: Path | None = None

    @property
    def url(self) -> str:
        return self.options.url

    def start(self, tunnel_domain: str = "", foreground: bool = False) -> LocalServer:
        if port_in_use(self.options.host, self.options.port):
            raise BadInput(f"port {self.options.port} is already in use (choose --port)")
        args = command(self.paths, self.options, tunnel_domain)
        env = environment(self.paths, self.admin_password)
        output = None
        if not foreground:
            self.log_file = self.paths.data_dir / "server.log"
            output = self.log_file.open("ab")
        self.process = subprocess.Popen(
            args, env=env, stdout=output, stderr=subprocess.STDOUT if output else None,
            start_new_session=True,
        )  # fmt: skip
        try:
            wait_healthy(self.url, self.process)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def prepare(settings_or_paths: ServerPaths, options: ServerOptions) -> tuple[str, bool]:
    """Create folders, secret key, admin password and auth config; (admin password, created)."""
    prepare_data_dir(settings_or_paths)
    password, created = admin_password(settings_or_paths)
    write_auth_ini(settings_or_paths, options)
    return password, created
