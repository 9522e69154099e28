"""Helpers for the central PC's tests: settings files aimed at a test server, users, stdin.

Every helper works on real files, a real server and real HTTP; nothing is mocked.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.central_pc.tracking_server import (
    LocalServer,
    ServerPaths,
    options_from_settings,
    prepare,
)
from {{ cookiecutter.package_name }}.central_pc.users import add_user
from {{ cookiecutter.package_name }}.process import free_port
from {{ cookiecutter.package_name }}.settings import Settings

from .project import PLATFORM_CONFIG, with_changes

PASSWORD = secrets.token_urlsafe(18)  # made per run, never a literal; 12+ characters
MLOPS = str(Path(sys.executable).parent / "mlops")


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int) else json.dumps(value)


def write_config(folder: Path, **values) -> Path:
    """The platform tests' mlops.toml with some `key = value` lines replaced, written into `folder`.

    Keys must be unique in the file (port, data_dir, domain, experiment, ...). A CSV source is
    made absolute so the copy reads the same data.
    """
    text = PLATFORM_CONFIG.read_text(encoding="utf-8")
    for key, value in values.items():
        line = f"{key} = {toml_value(value)}"
        text, count = re.subn(rf"^{key} = .*$", lambda _m, line=line: line, text, flags=re.M)
        assert count == 1, f"{key} must appear once in mlops.toml"
    source = re.search(r'^source = "(.*?)"', text, flags=re.M).group(1)
    if not source.startswith("sklearn:"):
        absolute = (PLATFORM_CONFIG.parent / source).as_posix()
        text = text.replace(f'source = "{source}"', f'source = "{absolute}"')
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mlops.toml"
    path.write_text(text, encoding="utf-8")
    return path


def config_for(server, folder: Path, settings: Settings, **values) -> Path:
    """A settings file for the admin commands against `server`, with the test's own names."""
    defaults = {
        "uri": server.url,
        "experiment": settings.tracking.experiment,
        "registered_name": settings.model.registered_name,
        "port": server.options.port,
        "data_dir": str(server.paths.data_dir),
        "artifacts_dir": str(server.paths.artifacts_dir),
    }
    return write_config(folder, **{**defaults, **values})


def on_server(settings: Settings, server) -> Settings:
    """The test's settings, with `[server]` pointing at the running test server."""
    return with_changes(
        settings,
        server={
            "port": server.options.port,
            "data_dir": str(server.paths.data_dir),
            "artifacts_dir": str(server.paths.artifacts_dir),
        },
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def new_user(settings: Settings, role: str) -> tuple[str, str]:
    """A user with `role` on the test's experiment and model; (name, password)."""
    name = unique(role)
    add_user(settings, name, role, PASSWORD)
    return name, PASSWORD


def feed_stdin(monkeypatch, text: str) -> None:
    """What a user pipes into the command (`echo pw | mlops server add-user ...`)."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def client_as(monkeypatch, url: str, username: str, password: str) -> MlflowClient:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", username)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    return MlflowClient(tracking_uri=url)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def project_env(**extra: str) -> dict[str, str]:
    """The environment for a child `mlops`, without credentials or a given admin password."""
    drop = {"MLFLOW_AUTH_ADMIN_PASSWORD", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return {**env, **extra}


class Foreground:
    """A foreground `mlops` command in a child process, as a user or a service runs it."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path):
        self.args, self.env, self.log = args, env, log
        self.process: subprocess.Popen | None = None

    def start(self, ready: str, timeout: float = 120) -> Foreground:
        with self.log.open("w") as output:
            self.process = subprocess.Popen(
                [MLOPS, *self.args], env=self.env, stdout=output, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while ready not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(
                    f"`mlops {' '.join(self.args)}` did not start:\n{self.output()}"
                )
            time.sleep(0.3)
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> int:
        """SIGTERM, as systemd or NSSM would send; the exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def status(url: str, auth: tuple[str, str] | None = None, host: str | None = None) -> int:
    headers = {"Host": host} if host else {}
    path = "/api/2.0/mlflow/experiments/search?max_results=1"
    return requests.get(url + path, auth=auth, headers=headers, timeout=10).status_code


@contextmanager
def full_disk(folder: Path, free_kb: int = 16) -> Iterator[Path]:
    """`folder` as a real, nearly full filesystem: a 1 MB tmpfs with `free_kb` left.

    Mounting needs root (or CAP_SYS_ADMIN); where the machine does not allow it the test is
    skipped with the reason, never faked.
    """
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {mounted.stderr.strip()}")
    try:
        filler = folder / "filler"
        with filler.open("wb") as out:
            while shutil.disk_usage(folder).free > free_kb * 1024:
                out.write(b"\0" * 4096)
                out.flush()
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@contextmanager
def server_of_its_own(settings: Settings, folder: Path, monkeypatch, **server_settings):
    """A real server on a data dir of its own, for tests that change what every test shares
    (its artifacts destination, all experiments): (server, the test's settings on it, an admin
    client). MLflow's variables point at it as the admin until the test ends."""
    settings = with_changes(settings, server=server_settings) if server_settings else settings
    paths = ServerPaths(folder / "data", folder / "artifacts")
    options = options_from_settings(settings, port=free_port())
    password, _ = prepare(paths, options)
    with LocalServer(paths, options, password).start() as server:
        team = on_server(with_changes(settings, tracking={"uri": server.url}), server)
        client = client_as(monkeypatch, server.url, "admin", password)
        monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
        yield server, team, client


def process_running(matches: Callable[[list[bytes]], bool]) -> int | None:
    """The pid of a running process whose command line `matches` (a verb's child, say)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if matches(argv):
            return int(cmdline.parent.name)
    return None
