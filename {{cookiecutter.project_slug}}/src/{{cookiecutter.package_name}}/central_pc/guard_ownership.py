"""Whose runs and logged models a member may write to, read from the server's own stores.

MLflow grants per experiment: EDIT on the team's experiment lets a member write to *any* run in
it, a teammate's included, and to any logged model's files. The project needs less: a member
writes only to the runs they created (the guard records the login as the run's `user_id` at
creation, whatever the client sent), to logged models whose source run is theirs, and never to
a run or model that has a registered version: what was judged stays as it was judged.
"""

from __future__ import annotations

from urllib.parse import urlparse

from mlflow.exceptions import MlflowException

from .guard_requests import Named


def _tracking_store():
    from mlflow.server.handlers import _get_tracking_store

    return _get_tracking_store()


def _registry_store():
    from mlflow.server.handlers import _get_model_registry_store

    return _get_model_registry_store()


def _run(run_id: str):
    try:
        return _tracking_store().get_run(run_id)
    except MlflowException:
        return None


def _logged_model(model_id: str):
    try:
        return _tracking_store().get_logged_model(model_id)
    except MlflowException:
        return None


def versions_of_run(run_id: str, most: int = 1000) -> list:
    """The registered versions made from this run. Only the run id goes into the filter, and
    only an id MLflow could have made: anything else has no version."""
    if not run_id.isalnum():
        return []
    return _registry_store().search_model_versions(
        filter_string=f"run_id = '{run_id}'", max_results=most
    )


def run_refusal(username: str, run_id: str) -> str | None:
    run = _run(run_id)
    return _own_run_refusal(username, run) if run else None  # else MLflow answers 404 itself


def _own_run_refusal(username: str, run) -> str | None:
    run_id = run.info.run_id
    if run.info.user_id != username:
        return f"run {run_id} belongs to {run.info.user_id!r}: members write only to their own runs"
    if versions_of_run(run_id, most=1):
        return f"run {run_id} has a registered version: its runs and files are frozen"
    return None


def model_refusal(username: str, model_id: str) -> str | None:
    model = _logged_model(model_id)
    return _own_model_refusal(username, model) if model else None


def _own_model_refusal(username: str, model) -> str | None:
    if not model.source_run_id:
        return f"logged model {model.model_id} has no source run: only an admin may change it"
    return run_refusal(username, model.source_run_id)


def named_refusal(username: str, named: Named) -> str | None:
    """The first run or model the request names that the user may not write to."""
    for run_id in sorted(named.runs):
        reason = run_refusal(username, run_id)
        if reason:
            return reason
    for model_id in sorted(named.models):
        reason = model_refusal(username, model_id)
        if reason:
            return reason
    return None


def artifact_refusal(username: str, relative: str) -> str | None:
    """An upload goes to the folder of a run or logged model the user may write to."""
    parts = relative.split("/")
    if len(parts) >= 4 and parts[2] == "artifacts":
        run = _run(parts[1])
        if run is None or not _within(relative, run.info.artifact_uri):
            return "uploads go to a run's own artifacts folder"
        return _own_run_refusal(username, run)
    if len(parts) >= 5 and parts[1] == "models" and parts[3] == "artifacts":
        model = _logged_model(parts[2])
        if model is None or not _within(relative, model.artifact_location):
            return "uploads go to a logged model's own artifacts folder"
        return _own_model_refusal(username, model)
    return "uploads go to a run's or a logged model's artifacts folder"


def _within(relative: str, artifact_uri: str) -> bool:
    """`1/<run>/artifacts/x` lies in `mlflow-artifacts:/1/<run>/artifacts` (any host form)."""
    root = urlparse(artifact_uri).path.strip("/")
    return bool(root) and relative.startswith(root + "/")
