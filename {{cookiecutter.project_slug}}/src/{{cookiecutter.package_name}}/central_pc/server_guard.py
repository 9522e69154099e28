"""The tracking server's app: MLflow's own `basic-auth`, wrapped by the rules it lacks.

`mlops server start` runs `mlflow server --app-name <package>-guard`; that entry point
(pyproject.toml) is `create_app` below. MLflow's app still authenticates and authorizes every
request; this outer layer only ever refuses more, and decides on what MLflow will read
(`guard_requests`): an ambiguous header, path or body is refused before MLflow sees it.

- **Logins first.** No body is read before the credentials pass; bodies are capped (API calls
  by `MAX_API_BODY`, uploads by the free disk, and an upload must send its length).
- **Team paths only.** Non-admins reach what the project uses (experiments, runs, logged and
  registered models, artifacts, the UI, GraphQL, their own user) and nothing else: no user list,
  no grants, no renames, no AI gateway, MCP, jobs, traces, prompts or assistant.
- **Failed logins back off** per address, name and (name, address) pair, without locking out a
  client that works (`guard_logins`).
- **Runs belong to their author.** A member writes only to runs they created and their logged
  models; a run with a registered version, and its model's folder, are frozen (`guard_ownership`).
- **One version per run.** Version creations are serialised, and a second version of a run
  that already has one is refused (409, `RESOURCE_ALREADY_EXISTS`): two `register-challenger`
  started at once register the run once (the loser reuses the winner's version).
- **Alias moves are compare-and-set.** A move that names the aliases it expects is checked and
  made under one lock (`guard_aliases`): promote, rollback and register-challenger at once end
  as if run one after the other.
- **Artifacts are write-once.** A non-admin cannot delete an artifact, nor overwrite one older
  than ten minutes.

Every refusal and every write is one line of the server's log, with the user.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.websockets import WebSocketClose

from ..settings import ServerSettings
from ..tracking import guard_aliases
from ..variables import AUTH_CACHE_TTL_ENV, LOGIN_ATTEMPTS_ENV
from . import guard_ownership
from .guard_logins import (
    LOCAL,
    Backoff,
    Logins,
    PasswordCheck,
    Throttled,
    VerifiedLogins,
    client_address,
)
from .guard_requests import (
    Credentials,
    Unreadable,
    credentials,
    named,
    names_owned_things,
    stable_path,
    version_request,
)
from .server_launcher import APP_NAME

__all__ = ["LOCAL", "Backoff", "PasswordCheck", "VerifiedLogins", "client_address"]

ARTIFACT_GRACE_S = 600.0  # a client may retry an upload whose answer it never got
SPARE_BYTES = 1 << 20  # an upload must leave this much free: sqlite and logs need room too
MAX_API_BODY = 16 << 20  # MLflow's biggest API body (a full log-batch) is far below this
log = logging.getLogger(__name__)

_API2 = r"/(?:ajax-)?api/2\.0"
_API3 = r"/(?:ajax-)?api/3\.0"
# Answered to anyone, as MLflow does: no credentials are checked, so none are counted
PUBLIC_PATHS = re.compile(
    rf"^(?:/health|/version|/favicon\.ico|/static-files/.*|{_API3}/mlflow/server-info)$"
)
TEAM_PATHS = re.compile(
    r"^(?:/|/graphql|/build/.*|/get-artifact|/model-versions/get-artifact"
    rf"|{_API2}/mlflow/(?:experiments|runs|metrics|logged-models|registered-models"
    r"|model-versions|artifacts)(?:/.*)?"
    rf"|{_API2}mlflow/experiments/search-datasets"
    rf"|{_API2}/mlflow-artifacts/artifacts(?:/.*)?"
    rf"|{_API2}/mlflow/users/(?:current|update-password)"
    rf"|{_API3}/mlflow/users/(?:current/permissions|permissions/get)"  # their own, says MLflow
    r")$"
)
# What MLflow lets EDIT do but the project never does: a rename cuts every workflow off
RENAMES = re.compile(rf"^{_API2}/mlflow/(?:registered-models/rename|experiments/update)$")
VERSION_CREATE = re.compile(rf"^{_API2}/mlflow/model-versions/create$")
RUN_CREATE = re.compile(rf"^{_API2}/mlflow/runs/create$")
ARTIFACT_PATH = re.compile(rf"^{_API2}/mlflow-artifacts/artifacts/(.+)$")


def is_team_path(path: str) -> bool:
    """Paths a non-admin may reach; grants (`.../permissions/...`) stay with the admins."""
    if "/../" in f"{path}/" or "/./" in f"{path}/" or not TEAM_PATHS.match(path):
        return False
    own_permissions = path.endswith(("/users/current/permissions", "/users/permissions/get"))
    return ("/permissions/" not in path or own_permissions) and not RENAMES.match(path)


def basic_credentials(authorization: str) -> tuple[str, str] | None:
    """The login of one header value, read as MLflow reads it; None when absent or unreadable."""
    try:
        login = credentials([authorization] if authorization else [])
    except Unreadable:
        return None
    return (login.username, login.password) if login else None


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str
    retry_after_s: int = 0


@dataclass(frozen=True)
class Decision:
    """Who sent a request (None: nobody), and why it is refused (None: it may go on)."""

    refusal: Refusal | None
    user: str | None = None
    is_admin: bool = False


def local_artifacts_root() -> Path | None:
    destination = os.environ.get("_MLFLOW_SERVER_ARTIFACT_DESTINATION", "")
    if not destination.startswith("file:"):
        return None
    return Path(unquote(urlparse(destination).path))


def overwrite_refusal(method: str, path: str, root: Path | None, now: float) -> Refusal | None:
    """Deleting, or replacing a settled artifact, is for admins only."""
    match = ARTIFACT_PATH.match(path)
    if match is None or method not in ("PUT", "DELETE"):
        return None
    if method == "DELETE":
        return Refusal(403, "artifacts can only be deleted by an admin")
    if root is None:
        return None
    target = root / match.group(1)  # a stable path: MLflow decodes it to this very file
    if target.is_file() and now - target.stat().st_mtime > ARTIFACT_GRACE_S:
        return Refusal(403, "artifacts are write-once: this file already exists")
    return None


@dataclass
class Gatekeeper:
    """The decision on who sent a request and where it may go, separate from ASGI so it reads
    (and tests) plainly. Ownership of runs needs the request body and is decided later."""

    logins: Logins
    artifacts_root: Path | None = None

    def decide(self, method: str, path: str, address: str, login: Credentials | None) -> Decision:
        if PUBLIC_PATHS.match(path):
            return Decision(None)
        if login is None:
            return Decision(Refusal(401, "authentication required"))
        try:
            is_admin = self.logins.login(login.username, login.password, address)
        except Throttled as wait:
            throttled = Refusal(
                429, "too many failed logins: try again later", int(wait.wait_s) + 1
            )
            return Decision(throttled, login.username)
        if is_admin is None:
            return Decision(Refusal(401, "wrong user name or password"), login.username)
        if is_admin:
            return Decision(None, login.username, True)
        if not is_team_path(path):
            return Decision(Refusal(403, "this endpoint is for admins only"), login.username)
        refusal = overwrite_refusal(method, path, self.artifacts_root, time.time())
        return Decision(refusal, login.username)

    def refusal(self, method: str, path: str, address: str, authorization: str) -> Refusal | None:
        """The decision for one `Authorization` value (the unit tests' entry)."""
        try:
            login = credentials([authorization] if authorization else [])
        except Unreadable as exc:
            return Refusal(exc.status, str(exc))
        return self.decide(method, path, address, login).refusal


class Guard:
    """ASGI middleware around MLflow's app: reads the request as MLflow will, asks the
    gatekeeper, checks what a member writes to, then passes the request on."""

    def __init__(self, app, gatekeeper: Gatekeeper, version_of_run=None) -> None:
        self.app = app
        self.gatekeeper = gatekeeper
        self.version_of_run = version_of_run  # (model name, run id) -> version number or None
        self.registering = asyncio.Lock()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        connection = HTTPConnection(scope)
        method, path = scope.get("method", "GET"), scope["path"]
        decision = await self._decide(scope, connection)
        refusal = decision.refusal or self._size_refusal(method, path, connection.headers)
        if refusal is None and not decision.is_admin and ARTIFACT_PATH.match(path):
            refusal = await self._upload_refusal(method, path, decision.user)
        if refusal is not None:
            _log_refusal(refusal, method, path, decision.user)
            return await _refuse(refusal, scope, receive, send)
        if method not in ("GET", "HEAD", "OPTIONS") and decision.user:
            log.info("%s %s by %s", method, path, decision.user)
        if RUN_CREATE.match(path) or (names_owned_things(method, path) and not decision.is_admin):
            return await self._owned_write(scope, receive, send, decision)
        if method == "POST" and VERSION_CREATE.match(path) and self.version_of_run is not None:
            return await self._register_once(scope, receive, send)
        await self.app(scope, receive, send)

    async def _decide(self, scope, connection: HTTPConnection) -> Decision:
        peer = connection.client.host if connection.client else ""
        address = client_address(peer, connection.headers.get("x-forwarded-for", ""))
        try:
            path = stable_path(scope["path"])
            login = credentials(connection.headers.getlist("authorization"))
        except Unreadable as exc:
            return Decision(Refusal(exc.status, str(exc)))
        method = scope.get("method", "GET")
        return await run_in_threadpool(self.gatekeeper.decide, method, path, address, login)

    def _size_refusal(self, method: str, path: str, headers: Headers) -> Refusal | None:
        """Bodies are capped before a byte is read: uploads by the free disk, API calls by
        MAX_API_BODY; an upload must say its length, so the disk check always applies."""
        if method in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return None
        length = headers.get("content-length")
        if length is not None and not length.isdigit():
            return Refusal(400, "a malformed Content-Length")
        if not ARTIFACT_PATH.match(path):
            if length is not None and int(length) > MAX_API_BODY:
                return Refusal(413, f"request bodies are capped at {MAX_API_BODY >> 20} MiB")
            return None
        if length is None:
            return Refusal(411, "an upload must send Content-Length")
        root = self.gatekeeper.artifacts_root
        if root is None or shutil.disk_usage(root).free >= int(length) + SPARE_BYTES:
            return None
        return Refusal(507, f"no space left in the server's artifacts folder ({root})")

    async def _upload_refusal(self, method: str, path: str, user: str | None) -> Refusal | None:
        match = ARTIFACT_PATH.match(path)
        if method != "PUT" or match is None or user is None:
            return None
        reason = await run_in_threadpool(guard_ownership.artifact_refusal, user, match.group(1))
        return Refusal(403, reason) if reason else None

    async def _owned_write(self, scope, receive, send, decision: Decision) -> None:
        """A write naming runs or logged models: only the member's own, never a frozen one;
        a new run is recorded as the login's, whatever `user_id` the client sent."""
        try:
            body = await _read_body(receive, MAX_API_BODY)
            request = named(
                scope["method"],
                scope["path"],
                scope.get("query_string", b""),
                dict(Headers(scope=scope)),
                body,
            )
        except Unreadable as exc:
            refusal = Refusal(exc.status, str(exc))
            _log_refusal(refusal, scope["method"], scope["path"], decision.user)
            return await _refuse(refusal, scope, receive, send)
        if not decision.is_admin:
            user = decision.user or ""
            reason = await run_in_threadpool(guard_ownership.named_refusal, user, request)
            if reason:
                _log_refusal(Refusal(403, reason), scope["method"], scope["path"], decision.user)
                return await _refuse(Refusal(403, reason), scope, receive, send)
        if request.creates_run and decision.user:
            body = _with_user(body, decision.user)
            scope = _with_length(scope, len(body))
        await self.app(scope, _replay(body, receive), send)

    async def _register_once(self, scope, receive, send) -> None:
        """Check and create under one lock, so a run never gets two versions. The name and run
        are read by MLflow's own parser: `runId` is checked like `run_id`."""
        try:
            body = await _read_body(receive, MAX_API_BODY)
            name, run_id = version_request(dict(Headers(scope=scope)), body)
        except Unreadable as exc:
            return await _refuse(Refusal(exc.status, str(exc)), scope, receive, send)
        replay = _replay(body, receive)
        if not name or not run_id:
            return await self.app(scope, replay, send)
        async with self.registering:
            existing = await run_in_threadpool(self.version_of_run, name, run_id)
            if existing is not None:
                message = f"run {run_id} already is version {existing} of {name!r}"
                return await _refuse(Refusal(409, message), scope, receive, send)
            await self.app(scope, replay, send)


async def _read_body(receive, cap: int) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            raise Unreadable(413, f"request bodies are capped at {cap >> 20} MiB")
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive):
    """The body already read, then the real channel (for the disconnect)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed():
        return pending.pop() if pending else await receive()

    return replayed


def _with_user(body: bytes, user: str) -> bytes:
    """The CreateRun body with `user_id` set to the login (both spellings MLflow reads)."""
    request = json.loads(body or b"{}")
    if isinstance(request, str):  # an old client's JSON in a JSON string, as MLflow accepts
        request = json.loads(request)
    request.pop("userId", None)
    request["user_id"] = user
    return json.dumps(request).encode()


def _with_length(scope, length: int):
    headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
    return {**scope, "headers": [*headers, (b"content-length", str(length).encode())]}


def registry_version_of_run(name: str, run_id: str) -> str | None:
    """The version of `name` registered from `run_id`, read from the server's own registry; a
    name holding quotes or backslashes is compared here, never parsed."""
    found = guard_ownership.versions_of_run(run_id)
    return next((v.version for v in found if v.name == name), None)


def _log_refusal(refusal: Refusal, method: str, path: str, user: str | None) -> None:
    who = f" by {user}" if user else ""
    log.warning("%d %s %s%s: %s", refusal.status, method, path[:200], who, refusal.message)


async def _refuse(refusal: Refusal, scope, receive, send) -> None:
    if scope["type"] == "websocket":
        return await WebSocketClose(code=1008)(scope, receive, send)
    codes = {
        400: "INVALID_PARAMETER_VALUE",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "ENDPOINT_NOT_FOUND",
        409: "RESOURCE_ALREADY_EXISTS",
        411: "INVALID_PARAMETER_VALUE",
        413: "RESOURCE_LIMIT_EXCEEDED",
        429: "RESOURCE_EXHAUSTED",
        507: "RESOURCE_EXHAUSTED",
    }
    headers = {"Connection": "close"} if refusal.status in (401, 411, 413) else {}
    if refusal.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="mlflow"'
    if refusal.retry_after_s:
        headers["Retry-After"] = str(refusal.retry_after_s)
    body = {"error_code": codes[refusal.status], "message": refusal.message}
    await JSONResponse(body, refusal.status, headers)(scope, receive, send)


def gatekeeper_from_environment() -> Gatekeeper:
    from mlflow.server.auth import store  # its import reads the auth config: in the server only

    defaults = ServerSettings()  # the launcher always sets both; another start gets [server]'s
    attempts = int(os.environ.get(LOGIN_ATTEMPTS_ENV, defaults.login_attempts))
    ttl_s = float(os.environ.get(AUTH_CACHE_TTL_ENV, defaults.auth_cache_ttl_seconds))
    logins = Logins(
        check=PasswordCheck(store),
        by_address=Backoff(free=attempts),
        by_user=Backoff(free=2 * attempts),
        verified=VerifiedLogins(ttl_s=ttl_s),
    )
    return Gatekeeper(logins, artifacts_root=local_artifacts_root())


def _log_to_stderr() -> None:
    """One line per refusal and per write, in the server's own log (its stderr)."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(f"%(asctime)s {APP_NAME} %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def create_app():
    """The factory `mlflow server --app-name <package>-guard` calls in each uvicorn worker."""
    from mlflow.server import app as flask_app
    from mlflow.server.auth import create_app as basic_auth_app

    os.umask(0o077)  # artifacts, databases and logs: for the server's own OS user only
    _log_to_stderr()
    mlflow_app = basic_auth_app(flask_app)
    guard_aliases.install(flask_app)  # after basic-auth's hooks: only the authorised get there
    return Guard(mlflow_app, gatekeeper_from_environment(), registry_version_of_run)
