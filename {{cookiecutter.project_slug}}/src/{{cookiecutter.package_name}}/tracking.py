"""Talking to the tracking server: fail fast on a dead tunnel, say clearly why a call failed.

MLflow's defaults (7 retries, 120 s timeout, backoff factor 2) take minutes to report a dead
server. The project sets tighter defaults (a dead server is reported within about 30 s); any
`MLFLOW_HTTP_REQUEST_*` variable the user sets still wins.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import mlflow
import requests
from mlflow.exceptions import MlflowException

from .errors import BadInput, ServerUnavailable, is_disk_full
from .settings import Settings

HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    # pip_requirements are explicit and the lock hash is a run tag: no uv export per model
    "MLFLOW_UV_AUTO_DETECT": "false",
    "MLFLOW_LOG_UV_FILES": "false",
    # ending a run otherwise fetches it again only to print its link: one request per run
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}


FIRST_CONTACT = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}
"""A verb's first request: no retry, 10 s. A server that accepts connections and never answers
(a stalled tunnel, a hung process) is then reported in about 10 s instead of after every retry;
once it has answered, the retries of `HTTP_DEFAULTS` protect the rest of the work."""


@contextmanager
def first_contact() -> Iterator[None]:
    """Run the verb's first request under `FIRST_CONTACT`, unless the user chose otherwise."""
    ours = {
        name: value
        for name, value in FIRST_CONTACT.items()
        if os.environ.get(name) == HTTP_DEFAULTS[name]
    }
    with environment(ours):
        yield


def connect(settings: Settings) -> str:
    """Point MLflow at the configured server with the project's HTTP defaults; return the URI."""
    for name, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    uri = settings.tracking_uri
    mlflow.set_tracking_uri(uri)
    return uri


def translate(exc: Exception, uri: str) -> Exception:
    """The user-facing error for a failed server call, or `exc` itself when it is not one."""
    if is_disk_full(exc) or _status(exc) == 507:
        where = "database" if "database or disk is full" in str(exc) else "artifacts"
        return ServerUnavailable(
            f"the tracking server at {uri} has no disk space left (its {where} folder): "
            "free space on the central PC, then run this again"
        )
    if isinstance(exc, requests.exceptions.RequestException):
        return ServerUnavailable(
            f"cannot reach the tracking server at {uri} ({type(exc).__name__}){_start_hint(uri)}"
        )
    if not isinstance(exc, MlflowException):
        return exc
    code, message = exc.error_code, str(exc)
    if code == "UNAUTHENTICATED" or "error code 401" in message:
        return ServerUnavailable(_unauthenticated(uri))
    if code == "PERMISSION_DENIED" or "error code 403" in message:
        hint = (
            "the host is not in --allowed-hosts"
            if "Invalid Host" in message
            else ("ask an admin for access (mlops server add-user --role ...)")
        )
        return ServerUnavailable(f"{uri} denied the request (403): {hint}")
    if "failed with exception" in message or "Max retries exceeded" in message:
        return ServerUnavailable(
            f"cannot reach the tracking server at {uri}: {_reason(message)}{_start_hint(uri)}"
        )
    if code in {"TEMPORARILY_UNAVAILABLE", "ENDPOINT_NOT_FOUND"} or "error code 5" in message:
        return ServerUnavailable(f"the tracking server at {uri} failed: {message.splitlines()[0]}")
    return exc


def _unauthenticated(uri: str) -> str:
    """Missing credentials and wrong ones need different fixes: say which it is."""
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    if not user or not os.environ.get("MLFLOW_TRACKING_PASSWORD"):
        return (
            f"{uri} needs a login (401) and none is set: export MLFLOW_TRACKING_USERNAME and "
            "MLFLOW_TRACKING_PASSWORD (your own user; an admin creates it with mlops server "
            "add-user)"
        )
    return (
        f"{uri} rejected the password of {user!r} (401): check MLFLOW_TRACKING_PASSWORD, "
        "or ask an admin for mlops server set-password"
    )


def _status(exc: Exception) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _start_hint(uri: str) -> str:
    """On this PC, the usual cause is that no server was started yet."""
    host = urlsplit(uri).hostname or ""
    if host in ("127.0.0.1", "localhost", "::1"):
        return " (start it with `mlops server start`, or try `mlops demo`)"
    return " (is the central PC's server and tunnel up? `mlops doctor` checks each link)"


def _reason(message: str) -> str:
    for hint in ("Connection refused", "timed out", "Name or service not known", "Read timed out"):
        if hint in message:
            return hint.lower()
    return "no answer after retries"


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set variables for a block, then restore them: MLflow reads credentials and HTTP settings
    from the environment on every request."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def server_errors(uri: str) -> Iterator[None]:
    """Re-raise transport and auth failures as `ServerUnavailable` with one readable line."""
    try:
        yield
    except (MlflowException, requests.exceptions.RequestException) as exc:
        translated = translate(exc, uri)
        if translated is exc:
            raise
        raise translated from exc


def experiment_id(name: str, create: bool) -> str:
    """The experiment's id; created when missing and `create` is set (needs write access).
    Every verb that logs or searches starts here: it is their first contact."""
    with first_contact():
        experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        if experiment.lifecycle_stage == "deleted":
            raise BadInput(f"experiment {name!r} is deleted on the server; restore or rename it")
        return experiment.experiment_id
    if not create:
        raise BadInput(f"experiment {name!r} does not exist on the server: no runs yet")
    return mlflow.create_experiment(name)


def run_url(uri: str, experiment: str, run_id: str) -> str:
    return f"{uri.rstrip('/')}/#/experiments/{experiment}/runs/{run_id}"
