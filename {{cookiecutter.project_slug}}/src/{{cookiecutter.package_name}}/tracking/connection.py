"""Talking to the tracking server: fail fast on a dead tunnel, say clearly why a call failed.

Every verb runs inside `connected`, which points MLflow at the server with the project's HTTP
defaults (`mlflow_environment.HTTP_DEFAULTS`: a dead server is reported within about 30 s, not
MLflow's minutes) and puts everything back when the verb ends.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import mlflow
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException, RestException
from mlflow.tracking._tracking_service.utils import _use_tracking_uri  # restores the global

from ..errors import BadInput, ServerUnavailable, is_disk_full
from ..settings import Settings
from .mlflow_environment import FIRST_CONTACT, HTTP_DEFAULTS, environment, unless_set
from .model_registry import create_experiment


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


@contextmanager
def connected(settings: Settings) -> Iterator[str]:
    """Point MLflow at the configured server, with the project's HTTP defaults, for a block;
    yield the URI. MLflow keeps the URI in a global and in `MLFLOW_TRACKING_URI`: both are back
    as they were when the block ends, so a later `load_settings` is not steered by it."""
    uri = settings.tracking_uri
    check_http_variables()
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    variables = {**unless_set(HTTP_DEFAULTS), "MLFLOW_TRACKING_URI": uri}
    with environment(variables), _use_tracking_uri(uri):
        yield uri


SQLITE_FULL = "database or disk is full"


def _local_disk_full(exc: BaseException) -> BadInput | None:
    """A full disk on this machine (a download into the temp folder, the model cache), which
    MLflow may wrap in its own exception: named with its folder, never blamed on the server."""
    chain = list(_causes(exc))
    if not any(is_disk_full(e) and SQLITE_FULL not in str(e) for e in chain):
        return None  # sqlite's words come from the server's database, not from this machine
    named = [e.filename for e in chain if isinstance(e, OSError) and e.filename]
    folder = Path(named[0]).parent if named else Path(tempfile.gettempdir())
    return BadInput(f"no space left in {folder} on this machine: free space there, then run this "
                    "again")  # fmt: skip


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and what it was raised from, up to an answer of the server (not this machine's)."""
    seen: BaseException | None = exc
    while seen is not None and not isinstance(seen, RestException):
        yield seen
        seen = seen.__cause__ or seen.__context__


HTTP_VARIABLES = {  # MLflow's own, read at each request: (parse, smallest value)
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": (int, 0),
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": (float, 0),
    "MLFLOW_HTTP_REQUEST_TIMEOUT": (int, 1),
}


def check_http_variables() -> None:
    """A malformed value would fail deep in MLflow's first request, or worse, be read by it
    as a missing alias: refused here, in one line, before any request."""
    for name, (parse, smallest) in HTTP_VARIABLES.items():
        value = os.environ.get(name)
        if value is None:
            continue
        try:
            ok = parse(value) >= smallest
        except ValueError:
            ok = False
        if not ok:
            kind = "a whole number" if parse is int else "a number"
            raise BadInput(f"{name}={value!r} must be {kind} of at least {smallest}")


def translate(exc: Exception, uri: str, role: str | None = None) -> Exception:
    """The user-facing error for a failed server call, or `exc` itself when it is not one.
    `role` is what the verb needs (`mlops server add-user --role`), said on a 403."""
    local = _local_disk_full(exc)
    if local is not None:
        return local
    if _status(exc) == 507 or is_disk_full(exc):
        where = "database" if SQLITE_FULL in str(exc) else "artifacts"
        return ServerUnavailable(
            f"the tracking server at {uri} has no disk space left (its {where} folder): "
            "free space on the central PC, then run this again",
            507,
        )
    if isinstance(exc, requests.exceptions.RequestException):
        return ServerUnavailable(
            f"cannot reach the tracking server at {uri} ({type(exc).__name__}){_start_hint(uri)}"
        )
    if not isinstance(exc, MlflowException):
        return exc
    code, message = exc.error_code, str(exc)
    if code == "UNAUTHENTICATED" or "error code 401" in message:
        return ServerUnavailable(_unauthenticated(uri), 401)
    if code == "PERMISSION_DENIED" or "error code 403" in message:
        hint = "the host is not in --allowed-hosts" if "Invalid Host" in message else _grant(role)
        return ServerUnavailable(f"{uri} denied the request (403): {hint}", 403)
    if "failed with exception" in message or "Max retries exceeded" in message:
        return ServerUnavailable(
            f"cannot reach the tracking server at {uri}: {_reason(message)}{_start_hint(uri)}"
        )
    if code in {"TEMPORARILY_UNAVAILABLE", "ENDPOINT_NOT_FOUND"} or "error code 5" in message:
        return ServerUnavailable(f"the tracking server at {uri} failed: {message.splitlines()[0]}")
    return exc


def _grant(role: str | None) -> str:
    """Who may do what, in the admin's own command."""
    user = os.environ.get("MLFLOW_TRACKING_USERNAME") or "NAME"
    if role is None:
        return f"ask an admin to grant {user!r} access (mlops server add-user --help lists roles)"
    return (
        f"this needs the {role} role, which {user!r} lacks: ask an admin for a user with it "
        f"(mlops server add-user NAME --role {role})"
    )


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
def server_errors(uri: str, role: str | None = None) -> Iterator[None]:
    """Re-raise transport and auth failures as `ServerUnavailable` with one readable line;
    a 403 names `role`, the one the verb needs."""
    try:
        yield
    except (MlflowException, requests.exceptions.RequestException) as exc:
        translated = translate(exc, uri, role)
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
    return create_experiment(MlflowClient(), name)  # the URI `connected` points MLflow at


def run_url(uri: str, experiment: str, run_id: str) -> str:
    return f"{uri.rstrip('/')}/#/experiments/{experiment}/runs/{run_id}"
