"""The tracking server's app: MLflow's own `basic-auth`, wrapped by the rules it lacks.

`mlops server start` runs `mlflow server --app-name team-guard`; the `team-guard` entry point
(pyproject.toml) is `create_app` below. MLflow's app still authenticates and authorizes every
request; this outer layer only ever refuses more:

- **Team paths only.** Non-admins reach what the project uses (experiments, runs, logged and
  registered models, artifacts, the UI, GraphQL, their own user) and nothing else: no user list,
  no grants, no renames, no AI gateway, MCP, jobs, traces, prompts or assistant.
- **Failed logins back off.** After `[server] login_attempts` failures from one address (twice
  that for one user name), each further failure doubles the wait, up to 5 minutes; a request
  during the wait gets 429 without a password check, so guessing costs the server nothing.
  Credentials verified in the last `auth_cache_ttl_seconds` still pass, so an attacker cannot
  lock out a working client. An unknown user name costs the same password check as a known one:
  timing does not tell which names exist.
- **One version per run.** Version creations are serialised, and a second version of a run
  that already has one is refused (409, `RESOURCE_ALREADY_EXISTS`): two `register-challenger`
  started at once register the run once (the loser reuses the winner's version).
- **Artifacts are write-once.** A non-admin cannot delete an artifact, nor overwrite one older
  than ten minutes: the bytes of a registered model stay the bytes that were judged (the
  digest recorded at registration double-checks, see `model_files`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from mlflow.exceptions import MlflowException
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.websockets import WebSocketClose
from werkzeug.security import check_password_hash, generate_password_hash

from .server_launcher import AUTH_CACHE_TTL_ENV, LOGIN_ATTEMPTS_ENV

MAX_WAIT_S = 300.0
FORGET_AFTER_S = 900.0
ARTIFACT_GRACE_S = 600.0  # a client may retry an upload whose answer it never got
SPARE_BYTES = 1 << 20  # an upload must leave this much free: sqlite and logs need room too

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
ARTIFACT_PATH = re.compile(rf"^{_API2}/mlflow-artifacts/artifacts/(.+)$")


def is_team_path(path: str) -> bool:
    """Paths a non-admin may reach; grants (`.../permissions/...`) stay with the admins."""
    if "/../" in f"{path}/" or "/./" in f"{path}/" or not TEAM_PATHS.match(path):
        return False
    own_permissions = path.endswith(("/users/current/permissions", "/users/permissions/get"))
    return ("/permissions/" not in path or own_permissions) and not RENAMES.match(path)


@dataclass
class Backoff:
    """Failed logins per key (an address or a user name): free ones, then doubling waits."""

    free: int
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, tuple[int, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_s(self, key: str) -> float:
        """Seconds before `key` may try again (0: now)."""
        with self._lock:
            count, last = self._failures.get(key, (0, 0.0))
        now = self.clock()
        if count < self.free or now - last > FORGET_AFTER_S:
            return 0.0
        return max(0.0, last + min(MAX_WAIT_S, 2.0 ** (count - self.free)) - now)

    def failed(self, key: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) > 10_000:  # many names tried: keep memory bounded
                self._failures = {
                    k: v for k, v in self._failures.items() if now - v[1] <= FORGET_AFTER_S
                }
            count, last = self._failures.get(key, (0, now))
            self._failures[key] = (1 if now - last > FORGET_AFTER_S else count + 1, now)

    def forget(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


@dataclass
class VerifiedLogins:
    """Credentials that passed a password check lately: (user, HMAC of password) → (admin, when)."""

    ttl_s: float
    clock: Callable[[], float] = time.monotonic
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _seen: dict[tuple[str, bytes], tuple[bool, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _id(self, username: str, password: str) -> tuple[str, bytes]:
        return username, hmac.new(self._key, password.encode(), hashlib.sha256).digest()

    def get(self, username: str, password: str) -> bool | None:
        """Whether the user is an admin, if verified within the TTL; else None."""
        with self._lock:
            seen = self._seen.get(self._id(username, password))
        if seen is None or self.clock() - seen[1] > self.ttl_s:
            return None
        return seen[0]

    def put(self, username: str, password: str, is_admin: bool) -> None:
        with self._lock:
            if len(self._seen) > 1_000:
                self._seen.clear()
            self._seen[self._id(username, password)] = (is_admin, self.clock())


class PasswordCheck:
    """MLflow's user store, with an unknown name costing one hash check like a known one."""

    def __init__(self, store) -> None:
        self.store = store
        self.decoy = generate_password_hash(secrets.token_urlsafe(16))

    def __call__(self, username: str, password: str) -> bool | None:
        """Whether the user is an admin; None when the credentials are wrong."""
        if not self.store.has_user(username):
            check_password_hash(self.decoy, password)
            return None
        if not self.store.authenticate_user(username, password):
            return None
        try:
            return bool(self.store.get_user(username).is_admin)
        except MlflowException:  # deleted in between
            return None


def basic_credentials(authorization: str) -> tuple[str, str] | None:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, sep, password = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (username, password) if sep else None


LOCAL = ""  # a client on this PC itself (the runner, admin commands): no address back-off


def client_address(peer: str, forwarded_for: str) -> str:
    """The tunnel agent connects from loopback and appends the real client to X-Forwarded-For;
    loopback without it is this PC itself, which the user-name back-off still covers."""
    if peer in ("127.0.0.1", "::1"):
        return forwarded_for.split(",")[-1].strip() if forwarded_for else LOCAL
    return peer


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str
    retry_after_s: int = 0


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
    target = root / match.group(1)  # the ASGI path is already percent-decoded
    if target.is_file() and now - target.stat().st_mtime > ARTIFACT_GRACE_S:
        return Refusal(403, "artifacts are write-once: this file already exists")
    return None


@dataclass
class Gatekeeper:
    """The decision for one request, separate from ASGI so it reads (and tests) plainly."""

    check: Callable[[str, str], bool | None]
    by_address: Backoff
    by_user: Backoff
    verified: VerifiedLogins
    artifacts_root: Path | None = None

    def refusal(self, method: str, path: str, address: str, authorization: str) -> Refusal | None:
        if PUBLIC_PATHS.match(path):
            return None
        credentials = basic_credentials(authorization)
        if credentials is None:  # MLflow answers 401 on its protected paths
            return None if is_team_path(path) else Refusal(401, "authentication required")
        username, password = credentials
        is_admin = self.verified.get(username, password)
        if is_admin is None:
            by_address = self.by_address.wait_s(address) if address != LOCAL else 0.0
            wait = max(by_address, self.by_user.wait_s(username))
            if wait > 0:
                return Refusal(429, "too many failed logins: try again later", int(wait) + 1)
            is_admin = self.check(username, password)
            if is_admin is None:
                if address != LOCAL:
                    self.by_address.failed(address)
                self.by_user.failed(username)
                return Refusal(401, "wrong user name or password")
            self.by_user.forget(username)
            self.verified.put(username, password, is_admin)
        if is_admin:
            return None
        if not is_team_path(path):
            return Refusal(403, "this endpoint is for admins only")
        return overwrite_refusal(method, path, self.artifacts_root, time.time())


class Guard:
    """ASGI middleware around MLflow's app: asks the gatekeeper, then passes the request on."""

    def __init__(self, app, gatekeeper: Gatekeeper, version_of_run=None) -> None:
        self.app = app
        self.gatekeeper = gatekeeper
        self.version_of_run = version_of_run  # (model name, run id) -> version number or None
        self.registering = asyncio.Lock()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        connection = HTTPConnection(scope)
        peer = connection.client.host if connection.client else ""
        address = client_address(peer, connection.headers.get("x-forwarded-for", ""))
        refusal = await run_in_threadpool(
            self.gatekeeper.refusal,
            scope.get("method", "GET"),
            scope["path"],
            address,
            connection.headers.get("authorization", ""),
        )
        if refusal is None:
            refusal = self.no_space_refusal(scope, connection.headers.get("content-length"))
        if refusal is not None:
            return await _refuse(refusal, scope, receive, send)
        creates_version = scope.get("method") == "POST" and VERSION_CREATE.match(scope["path"])
        if creates_version and self.version_of_run is not None:
            return await self._register_once(scope, receive, send)
        await self.app(scope, receive, send)

    def no_space_refusal(self, scope, content_length: str | None) -> Refusal | None:
        """An upload that cannot fit is refused before a byte is written, in words (507)."""
        root = self.gatekeeper.artifacts_root
        if scope.get("method") != "PUT" or root is None or not ARTIFACT_PATH.match(scope["path"]):
            return None
        needed = int(content_length) if content_length and content_length.isdigit() else 0
        if shutil.disk_usage(root).free >= needed + SPARE_BYTES:
            return None
        return Refusal(507, f"no space left in the server's artifacts folder ({root})")

    async def _register_once(self, scope, receive, send) -> None:
        """Check and create under one lock, so a run never gets two versions."""
        body = await _read_body(receive)
        name, run_id = _version_request(body)
        replay = _replay(body, receive)
        if not name or not run_id:
            return await self.app(scope, replay, send)
        async with self.registering:
            existing = await run_in_threadpool(self.version_of_run, name, run_id)
            if existing is not None:
                message = f"run {run_id} already is version {existing} of {name!r}"
                return await _refuse(Refusal(409, message), scope, receive, send)
            await self.app(scope, replay, send)


async def _read_body(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive):
    """The body already read, then the real channel (for the disconnect)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed():
        return pending.pop() if pending else await receive()

    return replayed


def _version_request(body: bytes) -> tuple[str | None, str | None]:
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return None, None
    name, run_id = request.get("name"), request.get("run_id")
    plain = all(isinstance(v, str) and v and "'" not in v for v in (name, run_id))
    return (name, run_id) if plain else (None, None)


def registry_version_of_run(name: str, run_id: str) -> str | None:
    """The version of `name` registered from `run_id`, read from the server's own registry."""
    from mlflow.server.handlers import _get_model_registry_store

    found = _get_model_registry_store().search_model_versions(
        filter_string=f"name = '{name}' and run_id = '{run_id}'", max_results=1
    )
    return found[0].version if found else None


async def _refuse(refusal: Refusal, scope, receive, send) -> None:
    if scope["type"] == "websocket":
        return await WebSocketClose(code=1008)(scope, receive, send)
    codes = {
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        409: "RESOURCE_ALREADY_EXISTS",
        429: "RESOURCE_EXHAUSTED",
        507: "RESOURCE_EXHAUSTED",
    }
    headers = {}
    if refusal.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="mlflow"'
    if refusal.retry_after_s:
        headers["Retry-After"] = str(refusal.retry_after_s)
    body = {"error_code": codes[refusal.status], "message": refusal.message}
    await JSONResponse(body, refusal.status, headers)(scope, receive, send)


def gatekeeper_from_environment() -> Gatekeeper:
    from mlflow.server.auth import store  # its import reads the auth config: in the server only

    attempts = int(os.environ.get(LOGIN_ATTEMPTS_ENV, "5"))
    return Gatekeeper(
        check=PasswordCheck(store),
        by_address=Backoff(free=attempts),
        by_user=Backoff(free=2 * attempts),
        verified=VerifiedLogins(ttl_s=float(os.environ.get(AUTH_CACHE_TTL_ENV, "60"))),
        artifacts_root=local_artifacts_root(),
    )


def create_app():
    """The factory `mlflow server --app-name team-guard` calls in each uvicorn worker."""
    from mlflow.server.auth import create_app as basic_auth_app

    return Guard(basic_auth_app(), gatekeeper_from_environment(), registry_version_of_run)
