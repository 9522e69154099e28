"""Serve the champion on the central PC: `mlflow models serve` on 127.0.0.1, smoke-tested at start.

`mlflow models serve` has no authentication of its own, so it listens on 127.0.0.1 only; put
it behind the same tunnel or a reverse proxy with auth if anything else must reach it. The
alias is resolved when the server starts: after a promotion, restart it (docs/central-pc.md).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import requests
from mlflow.entities.model_registry import ModelVersion

from ..errors import ServerUnavailable
from ..ml.data import load_split
from ..process import ChildProcess, RunsAChild, hold_in_foreground, refuse_busy_port
from ..registry.session import open_registry
from ..settings import Settings
from ..tracking import connection
from ..tracking.model_files import fetch_verified
from ..tracking.model_registry import CHAMPION
from ..variables import SERVER_PARENT_PID_ENV
from . import server_launcher

SMOKE_ROWS = 3
STARTUP_TIMEOUT_S = 120
SERVING_DIR = ".mlops/serving"


def champion_uri(settings: Settings) -> str:
    return f"models:/{settings.model.registered_name}@{CHAMPION}"


def champion(settings: Settings) -> ModelVersion:
    """The version `champion` points at; a clear line when there is none yet."""
    with open_registry(settings, "reader") as registry:
        return registry.require(CHAMPION, "run mlops promote")


def verified_copy(settings: Settings, version: ModelVersion) -> Path:
    """The champion's files, downloaded and checked against the digest pinned at registration;
    the server loads this copy, so nothing changed on the tracking server after the promotion
    can reach production."""
    root = settings.resolve(SERVING_DIR)
    root.mkdir(parents=True, exist_ok=True)
    # A folder of its own: another `mlops serve` (or test) never rewrites files being loaded
    folder = Path(tempfile.mkdtemp(prefix=f"{version.name}-v{version.version}-", dir=root))
    with connection.connected(settings) as uri, connection.server_errors(uri, "reader"):
        return fetch_verified(settings.model.registered_name, version, folder).folder


def scoring_command(model_uri: str, port: int) -> list[str]:
    """`mlflow models serve` through the launcher: it dies with `mlops serve`, even on kill -9."""
    return [
        sys.executable, "-m", server_launcher.__name__, "models", "serve", "-m", model_uri,
        "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "--workers", "1",
    ]  # fmt: skip


def scoring_environment(tracking_uri: str) -> dict[str, str]:
    """MLflow starts the scoring server with this venv's tools: put its bin first on PATH."""
    venv_bin = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "MLFLOW_TRACKING_URI": tracking_uri,
        "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
        SERVER_PARENT_PID_ENV: str(os.getpid()),
    }


@dataclass
class ModelServer(RunsAChild):
    """A running `mlflow models serve`; a context manager that stops it."""

    model_uri: str
    port: int
    tracking_uri: str
    log_file: Path | None = None
    child: ChildProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ModelServer:
        refuse_busy_port("127.0.0.1", self.port, "the model server")
        self.child = ChildProcess(
            scoring_command(self.model_uri, self.port),
            scoring_environment(self.tracking_uri),
            "mlflow models serve",
            self.log_file,
        )
        self.child.start(f"{self.url}/ping", STARTUP_TIMEOUT_S)
        return self


def smoke_rows(settings: Settings) -> pd.DataFrame:
    """The first holdout rows: data the champion was judged on, so a prediction must come back."""
    return load_split(settings).x_test.head(SMOKE_ROWS)


def payload(rows: pd.DataFrame) -> dict:
    """MLflow's scoring format for raw rows; missing values travel as JSON null."""
    plain = rows.astype(object).where(rows.notna(), None)
    return {"dataframe_split": plain.to_dict(orient="split")}


def example_request(url: str, rows: pd.DataFrame) -> str:
    """A request a teammate can paste: one holdout row with every input column."""
    body = json.dumps(payload(rows.head(1)), separators=(",", ":"), default=str)
    return (
        f"curl -s -X POST {url}/invocations -H 'Content-Type: application/json' "
        f"-d {shlex.quote(body)}"
    )


def predict(url: str, rows: pd.DataFrame) -> list:
    """POST raw rows as a client would."""
    try:
        response = requests.post(f"{url}/invocations", json=payload(rows), timeout=60)
    except requests.RequestException as exc:
        raise ServerUnavailable(
            f"{url}/invocations does not answer ({type(exc).__name__})"
        ) from None
    if response.status_code != 200:
        first = response.text.strip().splitlines()[0] if response.text.strip() else ""
        raise ServerUnavailable(f"the smoke prediction failed ({response.status_code}): {first}")
    return response.json()["predictions"]


def serve_champion(settings: Settings, port: int, echo: Callable[[str], None] = print) -> None:
    """`mlops serve`: start, smoke-test, then serve in the foreground until Ctrl-C."""
    version = champion(settings)
    rows = smoke_rows(settings)
    model_uri = champion_uri(settings)
    copy = verified_copy(settings, version)
    server = ModelServer(str(copy), port, settings.tracking_uri)

    def stop() -> None:
        server.stop()
        shutil.rmtree(copy, ignore_errors=True)

    def start() -> subprocess.Popen:
        server.start()
        predictions = predict(server.url, rows)
        echo(
            f"serving {model_uri} (version {version.version}, files verified) at "
            f"{server.url}/invocations"
        )
        echo(f"smoke prediction on {len(rows)} holdout rows: {predictions}")
        echo(f"input columns ({len(rows.columns)}): {', '.join(map(str, rows.columns))}")
        echo(f"a request to try: {example_request(server.url, rows)}")
        echo("Ctrl-C stops it; restart it after each promotion to serve the new champion.")
        return server.running()

    hold_in_foreground(start, stop, "the model server", echo)
