"""`mlops server gc`: free the artifacts nobody will use again, before a Drive quota fills.

Two kinds of leftovers grow on a team's server: runs deleted in the UI (MLflow only marks them
deleted; their files stay), and the models of candidates that were never registered (every
training run logs one). A dry run lists both with their size; `--apply` marks the stale models
deleted, then lets MLflow's own `mlflow gc` remove exactly those runs and models, metadata and
files. A model any registered version points at is never touched, whatever its age.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import ViewType

from ..errors import BadInput
from ..process import dies_with_parent
from ..settings import Settings
from .tracking_server import ServerPaths, backend_store_uri, options_from_settings
from .users import admin, session


@dataclass
class Leftovers:
    runs: list[tuple[str, str]] = field(default_factory=list)  # (experiment id, run id)
    models: list[tuple[str, str]] = field(default_factory=list)  # (experiment id, model id)
    bytes: int = 0

    def summary(self) -> str:
        size = f"{self.bytes / 1e6:.1f} MB" if self.bytes else "their files"
        return f"{len(self.runs)} deleted runs and {len(self.models)} unregistered models ({size})"


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


def find_leftovers(client: MlflowClient, artifacts: Path, older_than_days: float) -> Leftovers:
    """Deleted runs, and models older than the limit that no registered version points at."""
    cutoff_ms = (time.time() - older_than_days * 86400) * 1000
    experiments = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    found = Leftovers()
    if not experiments:
        return found
    for run in client.search_runs(experiments, run_view_type=ViewType.DELETED_ONLY):
        found.runs.append((run.info.experiment_id, run.info.run_id))
        found.bytes += folder_bytes(artifacts / run.info.experiment_id / run.info.run_id)
    versions = client.search_model_versions()
    registered = {str(v.source).removeprefix("models:/") for v in versions}
    registered |= {v.model_id for v in versions if v.model_id}
    for model in client.search_logged_models(experiment_ids=experiments):
        if model.model_id in registered or model.creation_timestamp > cutoff_ms:
            continue
        found.models.append((model.experiment_id, model.model_id))
        found.bytes += folder_bytes(artifacts / model.experiment_id / "models" / model.model_id)
    return found


def collect(settings: Settings, older_than_days: float, apply: bool) -> tuple[Leftovers, bool]:
    """(what is left over, whether it was removed)."""
    if older_than_days < 0:
        raise BadInput("--older-than-days must be 0 or more")
    paths = ServerPaths.from_settings(settings)
    options = options_from_settings(settings)
    who = admin(settings)
    with session(who):
        client = MlflowClient(who.url)
        found = find_leftovers(client, paths.artifacts_dir, older_than_days)
        if not apply or not (found.runs or found.models):
            return found, False
        for _, model_id in found.models:
            client.delete_logged_model(model_id)
    destination = options.artifacts_destination or paths.artifacts_dir.as_uri()
    _mlflow_gc(backend_store_uri(paths, options), destination, found, who)
    return found, True


def _mlflow_gc(backend: str, destination: str, found: Leftovers, who) -> None:
    """MLflow's own permanent delete, limited to the ids the dry run listed. Proxied artifact
    URIs are deleted through the server, as the admin (only admins may delete artifacts)."""
    command = [sys.executable, "-m", "mlflow", "gc", "--backend-store-uri", backend,
               "--artifacts-destination", destination]  # fmt: skip
    if found.runs:
        command += ["--run-ids", ",".join(run_id for _, run_id in found.runs)]
    if found.models:
        command += ["--logged-model-ids", ",".join(model_id for _, model_id in found.models)]
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": who.url,
        "MLFLOW_TRACKING_USERNAME": who.username,
        "MLFLOW_TRACKING_PASSWORD": who.password,
    }
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, preexec_fn=dies_with_parent
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise BadInput(f"mlflow gc failed: {last}")
