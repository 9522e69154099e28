"""Alias moves that cannot lose an update: the compare-and-set MLflow's registry lacks.

`promote`, `rollback` and `register-challenger` read the aliases, work for seconds (download,
vet, score), then move one. Two of them at once (two dispatches, a person and the runner) would
each overwrite the other's move and both report success. So each move says which aliases it
expects (`EXPECTED_HEADER`: a JSON object, alias -> version, null for unset), and the server
checks them and makes the move under one lock, across its worker processes: a move whose
expectation no longer holds is refused with 409 and nothing is written.

The check runs as a Flask hook after MLflow's own authorization, so only a user who may move
the aliases learns whether they moved; a request without the header is MLflow's plain move.
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path

from filelock import FileLock

EXPECTED_HEADER = "X-Mlops-Expected-Aliases"
ALIAS_SET = re.compile(r"^/(?:ajax-)?api/2\.0/mlflow/registered-models/alias$")
MOVED_CODE = "RESOURCE_CONFLICT"
LOCK_FILE = "aliases.lock"


def expected_header(expected: dict[str, str | None]) -> dict[str, str]:
    """The request header a client sends with a move (see `registry.move_alias`)."""
    return {EXPECTED_HEADER: json.dumps(expected, sort_keys=True)}


def moved_aliases(expected: dict[str, str | None], current: dict[str, str]) -> list[str]:
    return sorted(alias for alias, version in expected.items() if current.get(alias) != version)


def moved_before(
    expected: dict[str, str | None], current: dict[str, str], alias: str, target: str
) -> list[str]:
    """The expected aliases that moved, unless `alias` already points at `target`: then a twin
    run (two register-challenger for one new run) made this very move, and making it again
    changes nothing, so only the other aliases count."""
    if current.get(alias) == target:
        expected = {other: version for other, version in expected.items() if other != alias}
    return moved_aliases(expected, current)


def parse_expected(value: str) -> dict[str, str | None]:
    try:
        expected = json.loads(value)
    except ValueError:
        expected = None
    if not isinstance(expected, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in expected.items()
    ):
        raise ValueError(f"{EXPECTED_HEADER} must be a JSON object of alias -> version or null")
    return expected


class AliasLock:
    """One move at a time: a thread lock within a worker, an OS file lock across workers
    (released by the kernel if a worker dies holding it)."""

    def __init__(self, lock_file: Path | None):
        self._threads = threading.Lock()
        self._file = FileLock(lock_file, mode=0o600, thread_local=False) if lock_file else None

    def acquire(self) -> None:
        self._threads.acquire()
        if self._file is not None:
            self._file.acquire()

    def release(self) -> None:
        if self._file is not None:
            self._file.release()
        self._threads.release()


def install(flask_app) -> None:
    """Add the check to MLflow's Flask app, after basic-auth's own hooks."""
    from flask import g, jsonify, request
    from mlflow.exceptions import MlflowException
    from mlflow.protos.model_registry_pb2 import SetRegisteredModelAlias
    from mlflow.server.handlers import _get_model_registry_store, _get_request_message

    config = os.environ.get("MLFLOW_AUTH_CONFIG_PATH")  # in the server's data dir
    lock = AliasLock(Path(config).parent / LOCK_FILE if config else None)

    def refuse(status: int, code: str, message: str):
        return jsonify(error_code=code, message=message), status

    def check_expected_aliases():
        header = request.headers.get(EXPECTED_HEADER)
        if request.method != "POST" or header is None or not ALIAS_SET.match(request.path):
            return None
        try:
            expected = parse_expected(header)
            move = _get_request_message(SetRegisteredModelAlias())
        except (ValueError, MlflowException) as exc:
            return refuse(400, "INVALID_PARAMETER_VALUE", str(exc))
        lock.acquire()
        g.mlops_alias_lock = True
        try:
            model = _get_model_registry_store().get_registered_model(move.name)
        except MlflowException:
            return None  # MLflow answers the unknown model itself
        current = {alias: str(version) for alias, version in model.aliases.items()}
        moved = moved_before(expected, current, move.alias, str(move.version))
        if moved:
            now = ", ".join(f"{a} is {current.get(a) or 'unset'}" for a in moved)
            return refuse(409, MOVED_CODE, f"{moved[0]} moved while this ran ({now})")
        return None

    def release(_error=None) -> None:
        if g.pop("mlops_alias_lock", False):
            lock.release()

    flask_app.before_request(check_expected_aliases)
    flask_app.teardown_request(release)
