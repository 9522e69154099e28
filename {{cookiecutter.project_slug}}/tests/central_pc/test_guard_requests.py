"""The guard and MLflow read one request alike: a differential property test against MLflow's own
parsers (Werkzeug's `Authorization` for the Flask routes, the FastAPI artifact routes' reading,
`validate_path_is_safe`, and the request-message parser of the API handlers). Whenever the guard
accepts a request, it names the same user, path and run that MLflow acts on."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.requests import Request
from werkzeug.datastructures import Authorization

from {{ cookiecutter.package_name }}.central_pc.guard_requests import Unreadable, credentials, named, stable_path

FIXTURES = HealthCheck.function_scoped_fixture  # monkeypatch: set and undone in each example
NAMES = st.text(
    st.characters(min_codepoint=33, max_codepoint=0x2FF, blacklist_characters=":"), max_size=8
)
PASSWORDS = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=12)
SPACES = st.sampled_from([" ", "\t", "  ", " \t", "\t ", "\n", "\x0b", ""])
SCHEMES = st.sampled_from(["Basic", "basic", "BASIC", "Bearer", "Basic:", "Basi"])


@st.composite
def authorization_values(draw) -> str:
    token = base64.b64encode(f"{draw(NAMES)}:{draw(PASSWORDS)}".encode()).decode()
    token = draw(
        st.sampled_from([token, token.rstrip("="), token + " ", token + "\t", " " + token])
    )
    return draw(SCHEMES) + draw(SPACES) + token + draw(st.sampled_from(["", " ", "\t", ","]))


def fastapi_reading(value: str, monkeypatch) -> tuple[str, str] | None:
    """The login MLflow's FastAPI routes take from the header: their own code, with the
    password check replaced by a note of what it was asked."""
    from mlflow.server import auth

    seen = []
    monkeypatch.setattr(auth, "_authenticate_cached", lambda u, p: seen.append((u, p)) or u)
    headers = [(b"authorization", value.encode("latin-1"))]
    path = "/api/2.0/mlflow-artifacts/artifacts/x"
    scope = {"type": "http", "method": "PUT", "path": path, "query_string": b"", "headers": headers}
    auth._authenticate_fastapi_request(Request(scope))
    return seen[0] if seen else None


def flask_reading(value: str) -> tuple[str, str] | None:
    parsed = Authorization.from_header(value)
    return (parsed.username, parsed.password) if parsed and parsed.type == "basic" else None


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=authorization_values())
def test_an_accepted_login_is_the_login_both_mlflow_readers_take(value, monkeypatch):
    try:
        login = credentials([value])
    except Unreadable:
        return
    assert login is not None
    ours = (login.username, login.password)
    assert flask_reading(value) == ours
    assert fastapi_reading(value, monkeypatch) == ours


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=authorization_values())
def test_a_header_either_mlflow_reader_takes_is_never_passed_on_as_anonymous(value, monkeypatch):
    """The TAB attack: where MLflow logs a user in, the guard has seen credentials too."""
    taken = flask_reading(value) or fastapi_reading(value, monkeypatch)
    if taken is None:
        return
    try:
        assert credentials([value]) is not None
    except Unreadable as refused:
        assert refused.status == 401


SEGMENTS = st.sampled_from(
    ["model", ".skops", ".", "..", "/", "\\", "%", "2e", "2f", "5c", "25", "a b", "#", "\x00"]
)


@settings(max_examples=400, deadline=None)
@given(raw=st.lists(SEGMENTS, min_size=1, max_size=8).map("".join), times=st.integers(0, 3))
def test_an_accepted_artifact_path_is_the_path_mlflow_writes(raw, times):
    """Single, double and triple encodings: the ASGI server decodes once, MLflow until stable."""
    from urllib.parse import unquote

    from mlflow.exceptions import MlflowException
    from mlflow.utils.uri import validate_path_is_safe

    sent = raw
    for _ in range(times):
        sent = quote(sent, safe="")
    asgi_path = unquote(sent)  # what uvicorn puts in scope["path"]
    try:
        ours = stable_path(asgi_path)
    except Unreadable as refused:
        assert refused.status == 400
        return
    try:
        theirs = validate_path_is_safe(asgi_path)
    except (MlflowException, ValueError):
        return  # MLflow refuses it itself
    assert theirs == ours


RUN_KEYS = st.sampled_from(["run_id", "runId", "run_uuid", "runUuid"])


@settings(max_examples=150, deadline=None)
@given(
    keys=st.lists(RUN_KEYS, min_size=1, max_size=2, unique=True),
    runs=st.lists(st.sampled_from(["a" * 32, "b" * 32]), min_size=2, max_size=2),
    wrapped=st.booleans(),
)
def test_the_runs_a_body_names_are_the_runs_mlflows_handler_reads(keys, runs, wrapped):
    """Every spelling MLflow's request parser takes, and a JSON string holding the JSON."""
    from mlflow.protos.service_pb2 import LogMetric
    from mlflow.server.handlers import _get_request_message
    from werkzeug.test import EnvironBuilder

    body = {key: run for key, run in zip(keys, runs, strict=False)}
    body.update(key="m", value=1.0, timestamp=1, step=0)
    data = json.dumps(json.dumps(body) if wrapped else body).encode()
    headers = {"Content-Type": "application/json"}
    path = "/api/2.0/mlflow/runs/log-metric"
    try:
        ours = named("POST", path, b"", headers, data)
    except Unreadable as refused:
        assert refused.status == 400
        return
    builder = EnvironBuilder(path=path, method="POST", headers=headers, data=data)
    message = _get_request_message(LogMetric(), flask_request=builder.get_request())
    acted_on = {message.run_id, message.run_uuid} - {""}
    assert acted_on <= ours.runs and ours.runs
