"""How the guard reads a request: the way MLflow reads it, or not at all.

The guard's rules only hold when it decides on the same user, path and run that MLflow then
acts on. MLflow itself reads a request in more than one way: its Flask routes take credentials
from Werkzeug's `Authorization` parser, its FastAPI artifact routes split the header on any
whitespace and decode base64 leniently, and its artifact handlers percent-decode a path until it
stops changing. So the guard reads with MLflow's own parsers and refuses whatever those readers
could disagree on, before MLflow sees it:

- credentials: exactly `Basic <base64>` once, decoding to ASCII `name:password`;
- paths: nothing left that MLflow's own decoding (`%`, `#`, `?`) would change after the one
  decoding every ASGI server does, no backslash or NUL, no `.` or `..` segment;
- API bodies: parsed into MLflow's own request message by MLflow's own function, so every
  spelling MLflow accepts (`run_id`, `runId`, a JSON string holding JSON) is the one checked.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from functools import cache
from urllib.parse import unquote

from werkzeug.datastructures import Authorization

CANONICAL_BASIC = re.compile(r"[Bb][Aa][Ss][Ii][Cc] [A-Za-z0-9+/]+={0,2}")
API_PREFIX = re.compile(r"^/(?:ajax-)?api/2\.0(/mlflow/.*)$")
# The messages whose bodies name runs or logged models that a member may only write to if theirs
OWNED_ROUTES = re.compile(r"^/mlflow/(?:runs|logged-models|artifacts)(?:/|$)")
READS = re.compile(r"^/mlflow/(?:runs|logged-models)/search$|^/mlflow/artifacts/list$")


class Unreadable(ValueError):
    """A request MLflow could read differently from the guard: refused, never guessed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


def credentials(values: list[str]) -> Credentials | None:
    """The one `Authorization: Basic` login of a request; None when there is no header.

    Werkzeug's parser (MLflow's Flask routes) reads the value; the canonical form is required
    so that MLflow's FastAPI routes (`split()`, lenient base64, ASCII) read the same login."""
    if not values:
        return None
    if len(values) > 1:
        raise Unreadable(401, "more than one Authorization header")
    value = values[0]
    parsed = Authorization.from_header(value)
    if not CANONICAL_BASIC.fullmatch(value) or parsed is None or parsed.type != "basic":
        raise Unreadable(401, "malformed or non-Basic Authorization header")
    try:
        text = base64.b64decode(value[6:], validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unreadable(401, "malformed Authorization header") from exc
    if ":" not in text:
        raise Unreadable(401, "malformed Authorization header")
    return Credentials(parsed.username or "", parsed.password or "")


def stable_path(path: str) -> str:
    """The (once-decoded) ASGI path, refused unless MLflow's repeated decoding leaves it as is."""
    from mlflow.utils.uri import _decode  # what validate_path_is_safe reads an artifact path as

    try:
        stable = _decode(path) == path and unquote(path) == path
    except ValueError:
        stable = False
    if not stable:
        raise Unreadable(400, "a path MLflow would decode further (%, #, ? or the like)")
    if "\\" in path or "\x00" in path:
        raise Unreadable(400, "a backslash or NUL in the path")
    if any(segment in (".", "..") for segment in path.split("/")):
        raise Unreadable(400, "a '.' or '..' segment in the path")
    return path


def api_route(path: str) -> str | None:
    """`/mlflow/...` of an API 2.0 path (REST or the UI's ajax twin), else None."""
    match = API_PREFIX.match(path)
    return match.group(1) if match else None


def names_owned_things(method: str, path: str) -> bool:
    """A write to runs, logged models or run artifacts: its body must be read for owners."""
    route = api_route(path)
    return (
        method not in ("GET", "HEAD", "OPTIONS")
        and route is not None
        and OWNED_ROUTES.match(route) is not None
        and READS.match(route) is None
    )


@dataclass(frozen=True)
class Named:
    """The runs and logged models a request acts on, as MLflow's handler will read them."""

    runs: frozenset[str]
    models: frozenset[str]
    creates_run: bool


def named(method: str, path: str, query: bytes, headers: dict[str, str], body: bytes) -> Named:
    """The runs and models of a write to `/mlflow/runs|logged-models|artifacts/...`."""
    route = api_route(path) or ""
    found = _message_for(method, route)
    if found is None:
        raise Unreadable(404, f"no MLflow API {method} {route}")
    message_class, path_values = found
    message = parsed(message_class, method, path, query, headers, body)
    runs = {getattr(message, f, "") for f in ("run_id", "run_uuid", "source_run_id")}
    models = {path_values.get("model_id", ""), getattr(message, "model_id", "")}
    models |= {m.model_id for m in getattr(message, "models", [])}
    return Named(
        runs=frozenset(r for r in runs if r),
        models=frozenset(m for m in models if m),
        creates_run=message_class.__name__ == "CreateRun",
    )


def version_request(headers: dict[str, str], body: bytes) -> tuple[str, str]:
    """(model name, run id) of a `model-versions/create` body, as MLflow's handler reads them."""
    from mlflow.protos.model_registry_pb2 import CreateModelVersion

    path = "/api/2.0/mlflow/model-versions/create"
    message = parsed(CreateModelVersion, "POST", path, b"", headers, body)
    return message.name, message.run_id


def parsed(message_class, method: str, path: str, query: bytes, headers, body: bytes):
    """The body in MLflow's request message, by MLflow's own function (Werkzeug request)."""
    from mlflow.exceptions import MlflowException
    from mlflow.server.handlers import _get_request_message
    from werkzeug.test import EnvironBuilder

    builder = EnvironBuilder(
        path=path, method=method, query_string=query.decode("latin-1"), headers=headers, data=body
    )
    try:
        return _get_request_message(message_class(), flask_request=builder.get_request())
    except (MlflowException, ValueError) as exc:
        raise Unreadable(400, f"a request body MLflow cannot read: {exc}") from exc
    finally:
        builder.close()


def _message_for(method: str, route: str):
    for pattern, methods in _routes():
        match = pattern.match(route)
        if match and method in methods:
            return methods[method], match.groupdict()
    return None


@cache
def _routes():
    """MLflow's own table of API paths, methods and request messages (`/mlflow/...` only)."""
    from mlflow.protos.service_pb2 import MlflowService
    from mlflow.utils.rest_utils import extract_all_api_info_for_service

    table: dict[str, dict[str, type]] = {}
    for message_class, endpoints in extract_all_api_info_for_service(MlflowService, "").items():
        for endpoint_path, method in endpoints:
            table.setdefault(endpoint_path, {})[method] = message_class
    return [
        (re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", p) + "$"), methods)
        for p, methods in table.items()
    ]
