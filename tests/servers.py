"""A real basic-auth MLflow server for template tests, run from a baked project's environment.

It is started with the project's own server code (the same that `mlops server start` and
`mlops demo` use) on a free 127.0.0.1 port, and stopped when the context ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from .bakery import Bake, project_environment

SCRIPT = """
import signal, sys, threading
from pathlib import Path

import requests
from {package}.central_pc.tracking_server import LocalServer, ServerPaths, prepare
from {package}.process import free_port
from {package}.settings import ServerSettings

paths = ServerPaths(Path(sys.argv[1]), Path(sys.argv[2]))
options = ServerSettings(port=free_port())
password, _ = prepare(paths, options)
server = LocalServer(paths, options, password).start()
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
print(server.url, flush=True)
while not stop.wait(0.5) and server.process.poll() is None:
    pass
server.stop()
"""


@dataclass(frozen=True)
class RunningServer:
    url: str
    admin_password: str
    data_dir: Path

    def env(self, **extra: str) -> dict[str, str]:
        """MLflow's own variables for a CLI call against this server, as the admin."""
        return {
            "MLFLOW_TRACKING_URI": self.url,
            "MLFLOW_TRACKING_USERNAME": "admin",
            "MLFLOW_TRACKING_PASSWORD": self.admin_password,
            **extra,
        }

    def alias(self, model: str, alias: str) -> str:
        """The version behind an alias, read over MLflow's REST API ("-" when unset)."""
        response = requests.get(
            f"{self.url}/api/2.0/mlflow/registered-models/alias",
            params={"name": model, "alias": alias},
            auth=("admin", self.admin_password),
            timeout=30,
        )
        if response.status_code in (400, 404):  # MLflow answers 400 for an unset alias
            return "-"
        response.raise_for_status()
        return response.json()["model_version"]["version"]


@contextmanager
def running_server(bake: Bake, root: Path) -> Iterator[RunningServer]:
    bake.sync()
    python = bake.path / ".venv" / "bin" / "python"
    data_dir, artifacts = root / "data", root / "artifacts"
    process = subprocess.Popen(
        [str(python), "-c", SCRIPT.format(package=bake.package), str(data_dir), str(artifacts)],
        stdout=subprocess.PIPE, text=True, env=project_environment(), start_new_session=True,
    )  # fmt: skip
    try:
        url = process.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError(f"the test server did not start (exit {process.poll()})")
        password = (data_dir / "admin_password").read_text(encoding="utf-8").strip()
        yield RunningServer(url, password, data_dir)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
